"""Resume from last_event_id, stream.reset, and gap filling in the hub."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.realtime import hub, metrics, transport
from apps.realtime.history import MemoryHistory, RedisHistory, get_history
from apps.realtime.hub import get_hub
from apps.realtime.publish import publish
from tests import support
from tests.support import Demo, connect, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


def publish_n(stream: str, n: int, start: int = 0) -> list[str]:
    return [publish(stream, {"type": "request.updated", "action": "updated", "n": i}) for i in range(start, start + n)]


async def test_a_client_resumes_in_order_without_duplicates(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    ids = await sync_to_async(publish_n)(stream, 10)
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}&last_event_id={ids[3]}")
    got = [await receive(ws) for _ in range(7)]
    assert [m["id"] for m in got[:6]] == ids[4:]
    assert got[6] == {"type": "stream.resumed", "stream": stream, "replayed": 6}
    await ready(ws)
    more = await sync_to_async(publish_n)(stream, 2, start=10)
    assert [(await receive(ws))["id"] for _ in range(2)] == more
    await ws.disconnect()


async def test_resume_from_the_newest_id_replays_nothing(memory_layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    ids = await sync_to_async(publish_n)(f"requests.unit.{north.pk}", 2)
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}&last_event_id={ids[-1]}")
    assert (await receive(ws)) == {"type": "stream.resumed", "stream": f"requests.unit.{north.pk}", "replayed": 0}
    await ws.disconnect()


async def test_stream_reset_when_history_no_longer_reaches_back(layer: str, demo: Demo, settings) -> None:
    settings.REALTIME = {**settings.REALTIME, "HISTORY_SIZE": 5}
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    ids = await sync_to_async(publish_n)(stream, 300)
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}&last_event_id={ids[0]}")
    assert await receive(ws) == {"type": "stream.reset", "stream": stream}
    await ws.disconnect()


async def test_a_stream_with_no_history_resets_a_resuming_client(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}&last_event_id=1700000000000-0")
    assert await receive(ws) == {"type": "stream.reset", "stream": f"requests.unit.{north.pk}"}
    await ws.disconnect()


def forget(stream: str) -> None:
    """The history loses the stream, as when Redis restarts empty."""
    history = get_history()
    if isinstance(history, MemoryHistory):
        history._streams.pop(stream, None)
        history._added.pop(stream, None)
    else:
        assert isinstance(history, RedisHistory)
        history.shard(stream).sync.delete(history.key(stream))


async def _one_event_then_one_lost(
    demo: Demo, history_restarted: bool = False
) -> tuple[WebsocketCommunicator, str, str, str]:
    """A socket on North that received one event; then (after the history forgot the stream,
    with `history_restarted`) an event reaches the history but not the transport. Returns the
    socket, the stream, the received and the lost event's ids."""
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    await ready(ws)
    first = await sync_to_async(publish_n)(stream, 1)
    assert (await receive(ws))["id"] == first[0]
    if history_restarted:
        await sync_to_async(forget)(stream)
    payload = json.dumps({"type": "request.updated", "n": "lost"})
    lost_id, prev = await sync_to_async(get_history().append)(stream, payload)
    assert (prev is None) == history_restarted
    return ws, stream, first[0], lost_id


async def test_the_hub_fills_a_gap_from_history(layer: str, demo: Demo) -> None:
    """An event that reached the history but not the transport is still delivered, in order."""
    ws, stream, _, lost_id = await _one_event_then_one_lost(demo)
    after = await sync_to_async(publish_n)(stream, 1)
    assert [(await receive(ws))["id"] for _ in range(2)] == [lost_id, after[0]]
    await ws.disconnect()


async def test_ids_increase_strictly_within_a_stream(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    ids = await sync_to_async(publish_n)(f"requests.unit.{north.pk}", 50)
    keys = [tuple(int(p) for p in i.split("-")) for i in ids]
    assert keys == sorted(set(keys))


async def test_the_hub_fills_a_lost_last_event_from_history(layer: str, demo: Demo) -> None:
    """The lost event is the last one and nothing follows it: the hub's tail check finds it
    in the history and delivers it."""
    ws, _, _, lost_id = await _one_event_then_one_lost(demo)
    assert (await receive(ws, timeout=10))["id"] == lost_id  # two checks, TAIL_CHECK_AFTER apart
    await ws.disconnect()


async def test_an_event_on_its_way_at_a_tail_check_is_not_taken_for_a_loss(
    layer: str, demo: Demo, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history is written before the transport, so a tail check can find the newest event
    there before its live message arrives. That is no loss: the hub notes where the history
    stood and looks again; by then the message has arrived, and nothing is filled, logged or
    counted."""
    monkeypatch.setattr(hub, "TAIL_CHECK_AFTER", 3.0)  # the test delivers the message between the two looks
    ws, stream, first_id, on_its_way = await _one_event_then_one_lost(demo)
    the_hub = await get_hub()
    filled_before = sum(metrics.reconciled.values.values())
    while stream not in the_hub._behind:  # the tail check after `first` found the history ahead
        await asyncio.sleep(0.02)
    entry = await get_history().latest(stream)
    assert entry is not None and entry[0] == on_its_way
    the_hub.deliver({"stream": stream, "id": on_its_way, "prev": first_id, "frame": entry[1]})
    assert (await receive(ws))["id"] == on_its_way
    while stream in the_hub._tail_checks or stream in the_hub._behind:  # the second look has run
        await asyncio.sleep(0.02)
    assert await support.nothing_more(ws), "the event arrived twice"
    assert sum(metrics.reconciled.values.values()) == filled_before, "counted as a loss"
    assert "did not arrive" not in caplog.text
    await ws.disconnect()


async def test_a_client_that_resumed_past_a_lost_event_does_not_get_it_again_from_the_tail_fill(
    layer: str, demo: Demo
) -> None:
    """A second client resumes (from the first event) before the hub's tail check: the replay
    gives it the lost event, and the hub's later fill of that event must not repeat it."""
    ws, stream, first_id, lost_id = await _one_event_then_one_lost(demo)
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("bob")
    resumed, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}&last_event_id={first_id}")
    assert (await receive(resumed))["id"] == lost_id
    assert await receive(resumed) == {"type": "stream.resumed", "stream": stream, "replayed": 1}
    assert (await receive(ws, timeout=10))["id"] == lost_id  # the tail fill, to the first client
    after = await sync_to_async(publish_n)(stream, 1)
    assert (await receive(resumed))["id"] == after[0], "the tail fill repeated the lost event"
    assert (await receive(ws))["id"] == after[0]
    await ws.disconnect()
    await resumed.disconnect()


async def test_a_lost_event_on_a_quiet_stream_is_filled_when_the_hub_rejoins(
    layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No event follows the lost one and the tail check is out of the way: the rejoin (as
    after Redis came back) reconciles the stream with its history at once."""
    monkeypatch.setattr(hub, "TAIL_CHECK_AFTER", 3600.0)
    ws, _, _, lost_id = await _one_event_then_one_lost(demo)
    assert await (await get_hub()).rejoin()
    assert (await receive(ws))["id"] == lost_id
    await ws.disconnect()


@pytest.mark.parametrize("noticed_by", ["rejoin", "next event"])
async def test_after_the_history_restarted_empty_the_reset_is_followed_by_the_events_it_holds(
    noticed_by: str, layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history forgot the stream (Redis restarted empty) and the first event after that
    reached the history alone (the hub had not rejoined yet). The hub notices on its rejoin,
    or when the next event's `prev` is not the last it delivered: the gap before the lost
    event cannot be filled, so the subscribers get `stream.reset`; the history holds every
    event since whole, so they get those events too, in order and once each."""
    monkeypatch.setattr(hub, "TAIL_CHECK_AFTER", 3600.0)
    ws, stream, _, lost = await _one_event_then_one_lost(demo, history_restarted=True)
    if noticed_by == "rejoin":
        assert await (await get_hub()).rejoin()
    after = await sync_to_async(publish_n)(stream, 1)
    assert await receive(ws) == {"type": "stream.reset", "stream": stream}
    assert [(await receive(ws))["id"] for _ in range(2)] == [lost, after[0]]
    assert await support.nothing_more(ws), "an event arrived twice"
    await ws.disconnect()


async def test_a_stream_joined_empty_gets_its_lost_first_events_from_the_history(layer: str, demo: Demo) -> None:
    """The hub joined the stream while its history was empty; its first events went to the
    history alone: the rejoin delivers them all, as the history still holds every one."""
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    await ready(ws)
    append = sync_to_async(get_history().append)
    lost = [(await append(stream, json.dumps({"type": "request.updated", "n": n})))[0] for n in range(2)]
    assert await (await get_hub()).rejoin()
    assert [(await receive(ws))["id"] for _ in range(2)] == lost
    after = await sync_to_async(publish_n)(stream, 1)
    assert (await receive(ws))["id"] == after[0]
    await ws.disconnect()


async def test_a_stream_joined_empty_is_reset_when_the_history_dropped_some_of_its_events(
    layer: str, demo: Demo, settings: Any
) -> None:
    """As above, but more events than the history keeps: it cannot prove it holds them all,
    so the subscribers get `stream.reset`, and the next event arrives without another one."""
    settings.REALTIME = {**settings.REALTIME, "HISTORY_SIZE": 5}
    north = await sync_to_async(demo.unit)("North")
    stream = f"requests.unit.{north.pk}"
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    await ready(ws)
    for n in range(300):  # Redis trims with MAXLEN ~: whole macro nodes, so well past the size
        await sync_to_async(get_history().append)(stream, json.dumps({"type": "request.updated", "n": n}))
    assert await (await get_hub()).rejoin()
    assert await receive(ws) == {"type": "stream.reset", "stream": stream}
    after = await sync_to_async(publish_n)(stream, 1)
    assert (await receive(ws))["id"] == after[0]
    await ws.disconnect()


@pytest.mark.parametrize("mode", ["redis", "pubsub"])
async def test_the_periodic_audit_fills_a_quiet_stream_nothing_else_would(
    mode: str, redis_url: str, settings: Any, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis modes reconcile every quiet stream every RECONCILE_INTERVAL: a loss no rejoin
    revealed (the pub/sub layer reconnects on its own) is filled too."""
    monkeypatch.setattr(hub, "TAIL_CHECK_AFTER", 0.1)
    monkeypatch.setattr(transport.LayerTransport, "watch_interval", 0.1)
    settings.REALTIME = {**settings.REALTIME, "RECONCILE_INTERVAL": 0.3}
    with support.configured_layer(settings, mode, redis_url, prefix=f"audit{uuid.uuid4().hex[:8]}"):
        north = await sync_to_async(demo.unit)("North")
        stream = f"requests.unit.{north.pk}"
        token = await sync_to_async(demo.token)("alice")
        ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
        await ready(ws)
        first = await sync_to_async(publish_n)(stream, 1)
        assert (await receive(ws))["id"] == first[0]
        the_hub = await get_hub()
        while stream in the_hub._tail_checks:  # the tail check after `first` has run: the stream is quiet
            await asyncio.sleep(0.05)
        payload = json.dumps({"type": "request.updated", "n": "lost"})
        lost_id, _ = await sync_to_async(get_history().append)(stream, payload)
        assert (await receive(ws, timeout=5))["id"] == lost_id
        await ws.disconnect()
