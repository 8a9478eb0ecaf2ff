"""Presence through the whole ASGI app: sockets, the multiplexed socket, resume, and the REST endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.realtime.publish import publish
from tests.support import Demo, connect, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_grace(settings: Any) -> None:
    settings.REALTIME = {**settings.REALTIME, "PRESENCE_GRACE": 0}


async def open_unit(demo: Demo, username: str, query: str = "") -> tuple[WebsocketCommunicator, str]:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(f"/ws/requests/{north.pk}/?token={token}{query}")
    assert accepted
    return ws, f"requests.unit.{north.pk}"


async def presence(ws: WebsocketCommunicator, timeout: float = 15) -> dict[str, Any]:
    """The next presence message (events in between are not expected here)."""
    message = await receive(ws, timeout, presence=True)
    assert message["type"].startswith("presence."), message
    assert "id" not in message
    return message


async def user_id(demo: Demo, username: str) -> int:
    return int((await sync_to_async(demo.user)(username)).pk)


async def test_subscribers_see_the_state_then_each_other_join_and_leave(layer: str, demo: Demo) -> None:
    alice, stream = await open_unit(demo, "alice")
    alice_id, bob_id = await user_id(demo, "alice"), await user_id(demo, "bob")
    state = await presence(alice)
    assert state == {
        "type": "presence.state",
        "stream": stream,
        "rev": state["rev"],
        "members": {str(alice_id): {"user_id": alice_id, "username": "alice", "conns": 1}},
    }
    bob, _ = await open_unit(demo, "bob")
    bob_state = await presence(bob)
    assert set(bob_state["members"]) == {str(alice_id), str(bob_id)}
    join = await presence(alice)
    assert join == {
        "type": "presence.join",
        "stream": stream,
        "rev": bob_state["rev"],
        "user_id": bob_id,
        "username": "bob",
    }
    assert join["rev"] > state["rev"]
    await bob.disconnect()
    leave = await presence(alice)
    assert leave == {"type": "presence.leave", "stream": stream, "rev": join["rev"] + 1, "user_id": bob_id}
    await alice.disconnect()


async def test_two_sockets_of_one_user_are_one_member(memory_layer: str, demo: Demo) -> None:
    alice, stream = await open_unit(demo, "alice")
    first = await presence(alice)
    second, _ = await open_unit(demo, "alice")
    state = await presence(second)
    alice_id = await user_id(demo, "alice")
    assert state["rev"] == first["rev"] and state["members"][str(alice_id)]["conns"] == 2
    await second.disconnect()
    await alice.send_json_to({"type": "presence.get", "stream": stream})
    fresh = await presence(alice)  # no leave came before it: the user still has a socket
    assert fresh["type"] == "presence.state" and str(alice_id) in fresh["members"]
    assert fresh["rev"] == first["rev"], "the member set did not change"
    await alice.disconnect()


async def test_the_multiplexed_socket_gets_the_state_right_after_subscribed(memory_layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "subscribe", "stream": stream})
    assert await receive(ws) == {"type": "subscribed", "stream": stream}
    assert (await presence(ws))["type"] == "presence.state"
    await ws.send_json_to({"type": "presence.get", "stream": stream})
    assert (await presence(ws))["type"] == "presence.state"
    await ws.send_json_to({"type": "presence.get", "stream": "requests.unit.999999"})
    assert await receive(ws) == {
        "type": "error",
        "code": 4404,
        "detail": "not subscribed",
        "stream": "requests.unit.999999",
    }
    await ws.send_json_to({"type": "subscribe", "stream": "invoices"})
    assert await receive(ws) == {"type": "subscribed", "stream": "invoices"}
    await ws.send_json_to({"type": "presence.get", "stream": "invoices"})
    assert await receive(ws) == {
        "type": "error",
        "code": 4404,
        "detail": "this stream has no presence",
        "stream": "invoices",
    }
    await ws.send_json_to({"type": "unsubscribe", "stream": stream})
    assert await receive(ws) == {"type": "unsubscribed", "stream": stream}
    await ws.disconnect()


async def test_a_resume_gets_the_state_after_the_replay_and_presence_is_never_replayed(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    watcher, _ = await open_unit(demo, "alice")
    await presence(watcher)
    first = await sync_to_async(publish)(stream, {"type": "request.updated", "action": "updated", "n": 0})
    bob, _ = await open_unit(demo, "bob")  # a join between the two events
    while (await receive(bob, presence=True))["type"] != "presence.state":
        pass  # (the event may reach bob live: it joined the stream as it was published)
    await bob.disconnect()
    second = await sync_to_async(publish)(stream, {"type": "request.updated", "action": "updated", "n": 1})
    resumed, _ = await open_unit(demo, "nina", f"&last_event_id={first}")
    got = [await receive(resumed, presence=True) for _ in range(3)]
    assert got[0]["id"] == second  # the event only: no presence in the history
    assert got[1] == {"type": "stream.resumed", "stream": stream, "replayed": 1}
    assert got[2]["type"] == "presence.state" and "id" not in got[2]
    for ws in (watcher, resumed):
        await ws.disconnect()


async def test_get_presence_lists_the_members_with_the_stream_read_permission(memory_layer: str, demo: Demo) -> None:
    alice, stream = await open_unit(demo, "alice")
    state = await presence(alice)
    await ready(alice)
    api = await sync_to_async(demo.api)("bob")
    reply = await sync_to_async(api.get)("/api/presence/", {"stream": stream})
    assert reply.status_code == 200
    alice_id = await user_id(demo, "alice")
    assert reply.json() == {
        "stream": stream,
        "rev": state["rev"],
        "members": [{"user_id": alice_id, "username": "alice", "conns": 1}],
    }
    carol = await sync_to_async(demo.api)("carol")  # of the other unit
    assert (await sync_to_async(carol.get)("/api/presence/", {"stream": stream})).status_code == 403
    for name, status, body in [
        (None, 400, {"stream": ["this query parameter is required"]}),
        ("requests.unit.x", 404, {"detail": "no such stream"}),
        ("invoices", 404, {"detail": "this stream has no presence"}),
    ]:
        reply = await sync_to_async(api.get)("/api/presence/", {"stream": name} if name else {})
        assert (reply.status_code, reply.json()) == (status, body)
    await alice.disconnect()
