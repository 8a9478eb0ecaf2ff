"""The multiplexed /ws/ route: subscribe, unsubscribe, per-stream authorization."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.realtime.test_consumer import approve_first_pending
from tests.support import Demo, connect, nothing_more, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_socket_reads_several_streams(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("nina")
    ws, _, _ = await connect(f"/ws/?token={token}")
    for name in (f"requests.unit.{north.pk}", f"audit.unit.{north.pk}"):
        await ws.send_json_to({"type": "subscribe", "stream": name})
        assert await receive(ws) == {"type": "subscribed", "stream": name}
    await sync_to_async(approve_first_pending)(demo)
    got = {(await receive(ws))["type"], (await receive(ws))["type"]}
    assert got == {"request.updated", "audit.created"}
    await ws.send_json_to({"type": "unsubscribe", "stream": f"audit.unit.{north.pk}"})
    assert (await receive(ws))["type"] == "unsubscribed"
    await ws.disconnect()


async def test_subscribe_refusals_are_error_frames(memory_layer: str, demo: Demo) -> None:
    north, south = await sync_to_async(lambda: (demo.unit("North"), demo.unit("South")))()
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "subscribe", "stream": f"requests.unit.{south.pk}"})
    reply = await receive(ws)
    assert (reply["type"], reply["code"], reply["stream"]) == ("error", 4403, f"requests.unit.{south.pk}")
    await ws.send_json_to({"type": "subscribe", "stream": "nothing.here"})
    assert (await receive(ws))["code"] == 4404
    await ws.send_json_to({"type": "subscribe", "stream": f"requests.unit.{north.pk}", "last_event_id": "x"})
    assert (await receive(ws))["code"] == 4400
    await sync_to_async(approve_first_pending)(demo)
    assert await nothing_more(ws)
    await ws.disconnect()


class _SlowJoin:
    """The transport's join, held for one stream until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stream: str) -> None:
        from apps.realtime.transport import get_transport

        self.stream, self.started, self.release = stream, asyncio.Event(), asyncio.Event()
        transport = get_transport()
        real_join = transport.join

        async def join(hub: Any, name: str) -> None:
            if name == self.stream:
                self.started.set()
                await self.release.wait()
            await real_join(hub, name)

        monkeypatch.setattr(transport, "join", join)


async def test_subscribed_is_sent_once_the_stream_is_live(
    memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`subscribed` comes after the process joined the stream: an event committed right after
    it reaches the socket (it used to come first, and such an event could miss the socket)."""
    from apps.realtime.publish import publish

    north = await sync_to_async(demo.unit)("North")
    name = f"requests.unit.{north.pk}"
    slow = _SlowJoin(monkeypatch, name)
    token = await sync_to_async(demo.token)("nina")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "subscribe", "stream": name})
    await asyncio.wait_for(slow.started.wait(), 5)
    assert await nothing_more(ws), "acknowledged before the stream was live"
    slow.release.set()
    assert await receive(ws) == {"type": "subscribed", "stream": name}
    event_id = await sync_to_async(publish)(name, {"type": "request.updated", "action": "updated", "n": 1})
    assert (await receive(ws))["id"] == event_id
    await ws.disconnect()


async def test_streams_join_side_by_side(memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose join is slow (a Redis round trip) holds back no other stream's join."""
    from apps.realtime.publish import publish

    north, south = await sync_to_async(lambda: (demo.unit("North").pk, demo.unit("South").pk))()
    slow = _SlowJoin(monkeypatch, f"requests.unit.{north}")
    first, _, _ = await connect(f"/ws/?token={await sync_to_async(demo.token)('nina')}")
    second, _, _ = await connect(f"/ws/?token={await sync_to_async(demo.token)('carol')}")
    await first.send_json_to({"type": "subscribe", "stream": f"requests.unit.{north}"})
    await asyncio.wait_for(slow.started.wait(), 5)
    await second.send_json_to({"type": "subscribe", "stream": f"requests.unit.{south}"})
    assert await receive(second) == {"type": "subscribed", "stream": f"requests.unit.{south}"}
    event_id = await sync_to_async(publish)(f"requests.unit.{south}", {"type": "request.updated", "n": 1})
    assert (await receive(second))["id"] == event_id, "South is live while North still joins"
    slow.release.set()
    assert await receive(first) == {"type": "subscribed", "stream": f"requests.unit.{north}"}
    await first.disconnect()
    await second.disconnect()
