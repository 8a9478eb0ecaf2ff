"""
Presence end to end: two real Daphne processes sharing one Redis, real WebSocket and SSE
clients. The expiry and sweep are shortened (6 s, 2 s) so that a killed process's members
leave within seconds rather than the production 40.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.test_daphne import north_id
from tests.sse.client import open_stream
from tests.support import Server, wait_until, ws_json

PRESENCE_ENV = {"REALTIME_PRESENCE_EXPIRY": "6", "REALTIME_PRESENCE_SWEEP_INTERVAL": "2"}
# A change shows within the grace (5 s) and a tick; on a loaded machine allow much more.
WAIT = 30


def shared_env(redis_url: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "REDIS_PREFIX": f"e2e{uuid.uuid4().hex[:8]}", **PRESENCE_ENV}


@pytest.fixture(scope="module")
def pair(redis_url: str) -> Iterator[tuple[Server, Server]]:
    with Server(shared_env(redis_url)) as first:
        second = Server(first.env, db=first.db).start(migrate=False)
        try:
            yield first, second
        finally:
            second.stop()


class Client:
    """A socket on a unit's stream that keeps every presence message it receives."""

    def __init__(self, ws: websockets.ClientConnection, stream: str) -> None:
        self.ws, self.stream, self.seen = ws, stream, list[dict[str, Any]]()

    @classmethod
    async def open(cls, server: Server, username: str, query: str = "") -> Client:
        token = server.token(username)
        unit = north_id(server, token)
        ws = await websockets.connect(f"{server.ws}/ws/requests/{unit}/?token={token}{query}")
        return cls(ws, f"requests.unit.{unit}")

    async def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = WAIT) -> dict[str, Any]:
        """Read until a presence message `check` accepts; every one is kept in `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            message = await ws_json(self.ws, max(0.1, deadline - time.monotonic()), presence=True)
            if message["type"].startswith("presence."):
                assert "id" not in message, "presence messages carry no id"
                assert message["stream"] == self.stream and isinstance(message["rev"], int)
                self.seen.append(message)
                if check(message):
                    return message

    async def state(self) -> dict[str, Any]:
        return await self.until(lambda m: m["type"] == "presence.state")

    async def join_of(self, username: str) -> dict[str, Any]:
        return await self.until(lambda m: m["type"] == "presence.join" and m["username"] == username)

    async def leave_of(self, user_id: int, timeout: float = WAIT) -> dict[str, Any]:
        return await self.until(lambda m: m["type"] == "presence.leave" and m["user_id"] == user_id, timeout)

    async def close(self) -> None:
        await self.ws.close()


def me(server: Server, username: str) -> int:
    reply = httpx.get(f"{server.base}/api/auth/me/", headers={"Authorization": f"Bearer {server.token(username)}"})
    return int(reply.json()["id"])


def listing(server: Server, username: str, stream: str) -> dict[str, Any]:
    reply = httpx.get(
        f"{server.base}/api/presence/",
        params={"stream": stream},
        headers={"Authorization": f"Bearer {server.token(username)}"},
    )
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_users_on_two_processes_see_each_other_join_and_leave(pair: tuple[Server, Server]) -> None:
    first, second = pair
    alice = await Client.open(first, "alice")
    state = await alice.state()
    assert "alice" in {m["username"] for m in state["members"].values()}
    bob = await Client.open(second, "bob")
    bob_state = await bob.state()
    assert {"alice", "bob"} <= {m["username"] for m in bob_state["members"].values()}
    join = await alice.join_of("bob")
    assert join["user_id"] == me(second, "bob")
    await bob.close()
    leave = await alice.leave_of(join["user_id"])
    assert leave["rev"] > join["rev"]
    await alice.close()


async def test_three_tabs_of_one_user_are_one_member(pair: tuple[Server, Server]) -> None:
    first, second = pair
    bob = await Client.open(second, "bob")
    await bob.state()
    tabs = [await Client.open(server, "sam") for server in (first, first, second)]
    for tab in tabs:
        await tab.state()
    sam_id = me(first, "sam")
    await bob.join_of("sam")
    sam = [m for m in listing(first, "bob", bob.stream)["members"] if m["user_id"] == sam_id]
    assert sam == [{"user_id": sam_id, "username": "sam", "conns": 3}]
    for tab in tabs:
        await tab.close()
    await bob.leave_of(sam_id)
    joins = [m for m in bob.seen if m["type"] == "presence.join" and m["user_id"] == sam_id]
    leaves = [m for m in bob.seen if m["type"] == "presence.leave" and m["user_id"] == sam_id]
    assert (len(joins), len(leaves)) == (1, 1), "three tabs: one join, one leave"
    await bob.close()


async def test_a_reload_within_the_grace_gives_no_leave(pair: tuple[Server, Server]) -> None:
    first, second = pair
    alice_id = me(first, "alice")
    stream = f"requests.unit.{north_id(first, first.token('alice'))}"
    # alice's sockets of the tests before have left (their grace is over)
    wait_until(lambda: alice_id not in [m["user_id"] for m in listing(first, "bob", stream)["members"]], "alice gone")
    bob = await Client.open(second, "bob")
    await bob.state()
    alice = await Client.open(first, "alice")
    await alice.state()
    await bob.join_of("alice")
    await alice.close()
    alice = await Client.open(first, "alice")  # the reloaded page
    await alice.state()
    # nina comes and goes on the same process after alice's reload: her leave is due after
    # the removal of alice's old socket, so once bob sees it, that removal has happened
    nina = await Client.open(first, "nina")
    await nina.state()
    await nina.close()
    await bob.leave_of(me(first, "nina"))
    assert not [m for m in bob.seen if m["type"] == "presence.leave" and m["user_id"] == alice_id]
    assert alice_id in [m["user_id"] for m in listing(second, "bob", bob.stream)["members"]]
    await alice.close()
    await bob.close()


async def test_a_resume_gets_the_state_after_the_replay(pair: tuple[Server, Server]) -> None:
    first, second = pair
    alice = await Client.open(first, "alice")
    await alice.state()
    token = second.token("bob")
    unit = north_id(second, token)
    ids = []
    for title in ("one", "two"):
        created = httpx.post(
            f"{second.base}/api/requests/",
            json={"unit": unit, "request_type": "storage", "title": title},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        ids.append((await ws_json(alice.ws, WAIT))["id"])
    resumed = await Client.open(second, "bob", f"&last_event_id={ids[0]}")
    got = [await ws_json(resumed.ws, WAIT, presence=True) for _ in range(3)]
    assert got[0]["id"] == ids[1]
    assert got[1] == {"type": "stream.resumed", "stream": resumed.stream, "replayed": 1}
    assert got[2]["type"] == "presence.state" and "id" not in got[2]
    for client in (alice, resumed):
        await client.close()


async def test_an_sse_response_is_a_connection_and_gets_presence_as_data_lines(pair: tuple[Server, Server]) -> None:
    first, second = pair
    bob = await Client.open(second, "bob")
    await bob.state()
    nina = first.token("nina")
    with open_stream(f"{first.base}/api/events/?channel={bob.stream}&token={nina}", timeout=WAIT) as sse:
        block = sse.block()
        assert block.id is None and block.data is not None and block.data["type"] == "presence.state"
        await bob.join_of("nina")
        sam = await Client.open(second, "sam")  # another member comes and goes: the response hears it
        await sam.state()
        await sam.close()
        sam_id, kinds = me(first, "sam"), []
        while len(kinds) < 2:
            block = sse.block()  # blocks this test's loop; what the sockets receive meanwhile waits
            if block.data is not None:
                assert block.id is None, "presence frames have no id line"
                if block.data.get("user_id") == sam_id:
                    kinds.append(block.data["type"])
        assert kinds == ["presence.join", "presence.leave"]
    await bob.leave_of(me(first, "nina"))
    await bob.close()


async def test_a_killed_process_members_leave_announced_by_the_other(redis_url: str) -> None:
    with Server(shared_env(redis_url)) as live:
        doomed = Server(live.env, db=live.db).start(migrate=False)
        try:
            bob = await Client.open(live, "bob")
            await bob.state()
            alice = await Client.open(doomed, "alice")
            await alice.state()
            join = await bob.join_of("alice")
            assert doomed.proc is not None
            doomed.proc.send_signal(signal.SIGKILL)
            doomed.proc.wait()
            # the contract's bound: within 60 s of the death, announced by the live process
            leave = await bob.leave_of(join["user_id"], timeout=60)
            assert leave["rev"] > join["rev"]
            assert join["user_id"] not in [m["user_id"] for m in listing(live, "bob", bob.stream)["members"]]
            await bob.close()
        finally:
            doomed.stop()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_killed_process_members_leave_though_the_live_one_has_no_connection(
    redis_url: str, server: str
) -> None:
    """The live process holds no socket: it sweeps from its start all the same (Daphne through
    the launcher, uvicorn at lifespan startup), so `GET /api/presence/` there stops listing
    the dead process's members."""
    with Server(shared_env(redis_url), server=server) as live:
        doomed = Server(live.env, db=live.db).start(migrate=False)
        try:
            alice = await Client.open(doomed, "alice")
            stream, alice_id = alice.stream, me(doomed, "alice")
            await alice.state()
            assert alice_id in [m["user_id"] for m in listing(live, "bob", stream)["members"]]
            assert doomed.proc is not None
            doomed.proc.send_signal(signal.SIGKILL)
            doomed.proc.wait()
            wait_until(
                lambda: alice_id not in [m["user_id"] for m in listing(live, "bob", stream)["members"]],
                "the dead process's member swept by the live one",
                timeout=60,
            )
        finally:
            doomed.stop()


async def test_embedded_presence_in_one_process() -> None:
    with Server({}) as server:
        alice = await Client.open(server, "alice")
        await alice.state()
        bob = await Client.open(server, "bob")
        assert {"alice", "bob"} <= {m["username"] for m in (await bob.state())["members"].values()}
        join = await alice.join_of("bob")
        await bob.close()
        await alice.leave_of(join["user_id"])
        await alice.close()
