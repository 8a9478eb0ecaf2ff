"""
The presence tracker against a real Redis: two trackers, each with a hub of its own on the
channel layer, stand for two server processes. What a subscriber of each hub receives is
what its sockets would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from apps.realtime import presence
from apps.realtime.hub import Hub, get_hub
from tests import support

STREAM = "requests.unit.7"


class Recorder:
    """A hub subscriber that keeps the presence frames it gets."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connection_id = uuid.uuid4().hex

    def push(self, stream: str, event_id: str, frame: str) -> None:
        raise AssertionError("presence must not arrive as an event")

    def push_ephemeral(self, stream: str, frame: str, rev: int | None) -> None:
        body = json.loads(frame)
        assert body["rev"] == rev and "id" not in body
        self.frames.put_nowait(body)

    def reset(self, stream: str) -> None:
        raise AssertionError("presence must not touch the event path")

    async def next(self, timeout: float = 15) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    def empty(self) -> bool:
        return self.frames.empty()


class Process:
    """A hub, its tracker, and a subscriber on STREAM."""

    def __init__(self, hub: Hub) -> None:
        self.hub, self.tracker, self.seen = hub, presence.tracker_for(hub), Recorder()

    @classmethod
    async def start(cls) -> Process:
        hub = Hub(asyncio.get_running_loop())
        hub.attached = asyncio.get_running_loop().create_task(hub.transport.attach(hub))
        await hub.attached
        process = cls(hub)
        await hub.subscribe(STREAM, process.seen)
        return process

    async def track(self, user_id: int, username: str) -> str:
        conn, state = await self.tracker.track(STREAM, user_id, username)
        assert state is not None and (state.truncated or user_id in state.members), "the state includes it"
        return conn

    async def state(self) -> presence.State:
        state = await self.tracker.state(STREAM)
        assert state is not None
        return state


def settings_for(settings: Any, **presence_settings: int) -> None:
    settings.REALTIME = {**settings.REALTIME, **{f"PRESENCE_{k}": v for k, v in presence_settings.items()}}


@pytest.fixture
def redis_mode(settings: Any, redis_url: str) -> Iterator[None]:
    with support.configured_layer(settings, "redis", redis_url, prefix=f"p{uuid.uuid4().hex[:8]}"):
        yield


@pytest.fixture
async def two(redis_mode: None, settings: Any) -> AsyncIterator[tuple[Process, Process]]:
    settings_for(settings, GRACE=1, EXPIRY=3, SWEEP_INTERVAL=1)
    first, second = await Process.start(), await Process.start()
    yield first, second
    for process in (first, second):
        await process.hub.close()


async def test_users_on_two_processes_see_each_other_join(two: tuple[Process, Process]) -> None:
    first, second = two
    await first.track(1, "alice")
    joins = [await process.seen.next() for process in two]
    rev = joins[0]["rev"]  # a stream's first rev comes from the clock (it survives a Redis restart)
    assert joins == [{"type": "presence.join", "stream": STREAM, "rev": rev, "user_id": 1, "username": "alice"}] * 2
    await second.track(2, "bob")
    assert (await first.seen.next())["rev"] == rev + 1
    state = await second.state()
    assert state.message(STREAM) == {
        "type": "presence.state",
        "stream": STREAM,
        "rev": rev + 1,
        "members": {
            "1": {"user_id": 1, "username": "alice", "conns": 1},
            "2": {"user_id": 2, "username": "bob", "conns": 1},
        },
    }


async def test_a_second_connection_of_a_user_is_the_same_member(two: tuple[Process, Process]) -> None:
    first, second = two
    one = await first.track(1, "alice")
    rev = (await first.seen.next())["rev"]
    other = await second.track(1, "alice")
    state = await first.state()
    assert (state.rev, state.members) == (rev, {1: ("alice", 2)})
    first.tracker.untrack(STREAM, one)
    second.tracker.untrack(STREAM, other)
    # one leave, when the last of the two goes, with the next rev
    assert await first.seen.next() == {"type": "presence.leave", "stream": STREAM, "rev": rev + 1, "user_id": 1}
    assert (await first.state()).members == {}


async def test_a_reload_within_the_grace_gives_no_leave(two: tuple[Process, Process]) -> None:
    first, second = two
    old = await first.track(1, "alice")
    bob = await first.track(2, "bob")
    rev = (await second.seen.next())["rev"]
    assert (await second.seen.next())["user_id"] == 2
    first.tracker.untrack(STREAM, old)
    await first.track(1, "alice")  # the reloaded page, within the grace
    first.tracker.untrack(STREAM, bob)  # queued after alice's old connection: removed after it
    # so the first change anyone sees is bob's leave: alice's old connection went quietly
    assert await second.seen.next() == {"type": "presence.leave", "stream": STREAM, "rev": rev + 2, "user_id": 2}
    state = await first.state()
    assert (state.rev, state.members) == (rev + 2, {1: ("alice", 1)})


async def test_a_dead_process_members_are_swept_and_announced_by_a_live_one(two: tuple[Process, Process]) -> None:
    first, second = two
    await first.track(1, "alice")
    await second.track(2, "bob")
    # two processes' announcements may cross on the way: in either order
    joins = sorted([await second.seen.next() for _ in range(2)], key=lambda m: m["rev"])
    assert [j["user_id"] for j in joins] == [1, 2]
    rev = joins[0]["rev"]
    await first.hub.close()  # the process dies: it stops touching its connections
    # bob's connection, tracked at the same time, is touched by `second` meanwhile: the sweep
    # that removes alice (at least an expiry later) leaves him
    leave = await second.seen.next(timeout=30)
    assert leave == {"type": "presence.leave", "stream": STREAM, "rev": rev + 2, "user_id": 1}
    state = await second.state()
    assert (state.rev, state.members) == (rev + 2, {2: ("bob", 1)})


async def test_a_process_without_presence_connections_sweeps_too(redis_mode: None, settings: Any) -> None:
    """The hub starts its tracker: a process holding no presence connection still sweeps
    a dead process's members (what `GET /api/presence/` reads there)."""
    settings_for(settings, GRACE=1, EXPIRY=3, SWEEP_INTERVAL=1)
    doomed = await Process.start()
    await doomed.track(1, "alice")
    await get_hub()  # this process: a connection of any kind, none to a presence stream
    await doomed.hub.close()  # the other process dies: it stops touching alice's connection
    store = presence.get_store()
    async with asyncio.timeout(30):
        while 1 in (await asyncio.to_thread(store.state_sync, STREAM)).members:
            await asyncio.sleep(0.1)


async def test_the_member_list_stops_at_the_cap(redis_mode: None, settings: Any) -> None:
    settings_for(settings, GRACE=0, MAX_MEMBERS=2)
    process = await Process.start()
    try:
        conns = [await process.track(uid, f"user{uid}") for uid in (1, 2)]
        joins = [await process.seen.next() for _ in range(2)]
        assert [j["type"] for j in joins] == ["presence.join"] * 2
        rev = joins[0]["rev"]
        third = await process.track(3, "user3")
        crossed = await process.seen.next()  # crossing the cap: a fresh state, counts only
        assert crossed == {
            "type": "presence.state",
            "stream": STREAM,
            "rev": rev + 2,
            "members": {},
            "truncated": True,
            "count": {"members": 3, "conns": 3},
        }
        await process.track(4, "user4")  # past the cap: no join announced
        process.tracker.untrack(STREAM, third)
        process.tracker.untrack(STREAM, conns[0])  # back to the cap: a full state again
        back = await process.seen.next()
        assert back["type"] == "presence.state" and back["rev"] == rev + 5
        assert sorted(back["members"]) == ["2", "4"] and "truncated" not in back
        listing = (await process.state()).listing(STREAM)
        assert listing["rev"] == rev + 5 and {m["user_id"] for m in listing["members"]} == {2, 4}
    finally:
        await process.hub.close()


async def test_embedded_presence_is_in_process(memory_layer: str, settings: Any) -> None:
    settings_for(settings, GRACE=0)
    process = await Process.start()
    try:
        alice = await process.track(1, "alice")
        assert (await process.seen.next())["rev"] == 1
        await process.track(1, "alice")
        state = process.tracker.store.state_sync(STREAM)
        assert (state.rev, state.members) == (1, {1: ("alice", 2)})
        process.tracker.untrack(STREAM, alice)
        bob = await process.track(2, "bob")
        assert (await process.seen.next())["user_id"] == 2
        process.tracker.untrack(STREAM, bob)
        assert await process.seen.next() == {"type": "presence.leave", "stream": STREAM, "rev": 3, "user_id": 2}
        assert process.tracker.store.state_sync(STREAM).members == {1: ("alice", 1)}
    finally:
        await process.hub.close()
    # a closing event loop forgets its connections: in process nobody else could sweep them
    assert presence.get_store().state_sync(STREAM).members == {}


@pytest.mark.parametrize("mode", ["redis", "memory"])
async def test_a_state_is_read_from_the_members_not_every_connection(
    mode: str, settings: Any, request: pytest.FixtureRequest
) -> None:
    # One user with 3000 connections (tabs, or a benchmark's one account) is one member: a
    # state read that walked every connection made each new connection cost more than the
    # last, and 5000 of them stalled the server for seconds.
    url = request.getfixturevalue("redis_url") if mode == "redis" else ""
    with support.configured_layer(settings, mode, url, prefix=f"p{uuid.uuid4().hex[:8]}"):
        store = presence.get_store()
        conns = {f"c{n}": presence.conn_value(1, "proc", "alice") for n in range(3000)}
        await store.touch({STREAM: conns})
        await store.touch({STREAM: {"b": presence.conn_value(2, "proc", "bob")}})
        if isinstance(store, presence.RedisPresence):
            keys = store._state_keys(STREAM)
            raw: Any = store._sync[store.shard(STREAM)].eval(presence._STATE, len(keys), *keys, store.cap)
            assert len(raw[3]) == 2 * 3, "the reply holds (user, conns, name) per member, nothing per connection"
        state = store.state_sync(STREAM)
        assert state.members == {1: ("alice", 3000), 2: ("bob", 1)} and (state.count, state.conns) == (2, 3001)
        await store.remove({STREAM: [f"c{n}" for n in range(3000)]})
        assert store.state_sync(STREAM).members == {2: ("bob", 1)}


async def test_the_members_gauge_counts_users_not_connections(two: tuple[Process, Process]) -> None:
    first, _ = two
    await first.track(1, "alice")
    await first.track(1, "alice")
    bob = await first.track(2, "bob")
    assert first.tracker._member_total == 2
    first.tracker.untrack(STREAM, bob)
    while (await first.seen.next())["type"] != "presence.leave":
        pass
    assert first.tracker._member_total == 1
