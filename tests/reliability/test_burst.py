"""
A burst of 1000 events into one stream, committed in one transaction by another process:
every subscriber gets all 1000 in order, or is told `stream.reset` where it missed some.
Never a silent shortfall, on the default layer (pub/sub) and on RedisChannelLayer, also when
its per-channel capacity is forced far below the burst (it drops over-capacity messages
silently).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.reliability import clients
from tests.reliability.clients import Demo, Socket
from tests.reliability.conftest import Launch

BURST = 1000
NORTH_MEMBERS = ("alice", "bob", "sam", "nina")

# Run by `manage.py shell -c` with the server's environment: one transaction, 1000 events.
PUBLISH = """
import time
from django.conf import settings
from django.db import transaction
from apps.realtime.publish import publish_on_commit
from apps.requests.events import RequestUpdated
from apps.requests.streams import unit_requests

stream = unit_requests.name(unit_id={unit})
started = time.monotonic()
with transaction.atomic():
    for seq in range({count}):
        event = RequestUpdated(
            action="updated", object_id=seq, status="pending", data={{"seq": seq}}, updated_by="burst"
        )
        publish_on_commit(stream, event)
print(settings.CHANNEL_LAYERS["default"]["CONFIG"].get("capacity"), round(time.monotonic() - started, 2))
"""


def verdict(socket: Socket) -> tuple[int, int, list[str], bool]:
    """(burst events received, stream.reset received, silent problems, still short) in
    arrival order: a gap or an event out of order is silent unless a stream.reset came
    with it; `still short` means the last events have not come yet and no reset said so."""
    expected, received, resets, announced, gaps, late = 0, 0, 0, False, [], []
    last_id, backwards = (0, -1), 0
    for frame in socket.frames:
        if frame.get("type") == "stream.reset":
            resets, announced = resets + 1, True
        elif frame.get("type") == "request.updated" and frame.get("updated_by") == "burst":
            seq, event_id = frame["request_id"], tuple(int(p) for p in frame["id"].split("-"))
            received += 1
            backwards += event_id <= last_id
            last_id = max(last_id, event_id)
            if seq < expected:
                late.append(f"{seq} after {expected - 1}")
            elif seq > expected and not announced:
                gaps.append(f"{expected}..{seq - 1}")
            expected, announced = max(expected, seq + 1), False
    problems = [f"missing without stream.reset: {', '.join(gaps[:5])}"] if gaps else []
    if late:
        # Which order broke: the stream's (ids going backwards: delivery) or the commit order
        # within a stream whose ids still increase (publishing).
        where = f"{backwards} with event ids going backwards" if backwards else "event ids increasing"
        problems.append(f"{len(late)} events repeated or out of commit order (first: {late[0]}; {where})")
    return received, resets, problems, expected < BURST and not announced


@pytest.mark.parametrize(
    ("layer", "capacity"),
    [("", None), ("redis", None), ("redis", "20")],
    ids=["default-layer", "redis-layer", "redis-capacity-20"],
)
async def test_every_subscriber_gets_a_burst_of_1000_events_in_order_or_a_reset(
    launch: Launch, demo: Demo, summary: Callable[[str], None], layer: str, capacity: str | None
) -> None:
    server = launch(CHANNEL_LAYER=layer, **({"REALTIME_LAYER_CAPACITY": capacity} if capacity else {}))
    north = demo.units["North"]
    stream = f"requests.unit.{north}"
    # Half on the stream's own route, half on the multiplexed /ws/.
    tokens = [demo.token(NORTH_MEMBERS[i % 4]) for i in range(20)]
    routed = await clients.open_many(f"{server.ws}/ws/requests/{north}/?token={t}" for t in tokens[:10])
    multiplexed = await clients.open_many(f"{server.ws}/ws/?token={t}" for t in tokens[10:])
    for socket in multiplexed:
        await socket.send({"type": "subscribe", "stream": stream})
    subscribers = routed + multiplexed
    await clients.all_of(subscribers, lambda s: s.ping(), "subscribed (pong)")

    started = time.monotonic()
    output = await clients.manage_shell(server, PUBLISH.format(unit=north, count=BURST))
    layer_capacity, published_in = output.split()[0], float(output.split()[1])
    if capacity:
        assert layer_capacity == capacity, f"REALTIME_LAYER_CAPACITY={capacity} not honoured: {layer_capacity}"

    def settled(s: Socket) -> bool:
        _, _, problems, short = verdict(s)
        return bool(problems) or not short

    # A subscriber still short after 60 s is reported below with what it missed.
    await asyncio.gather(*(s.wait(settled, "settled", 60) for s in subscribers), return_exceptions=True)
    delivered_in = time.monotonic() - started
    outcomes = [verdict(s) for s in subscribers]
    silent = [
        f"{s.label}: {problems or []} {'the last events never came' if short else ''}"
        for s, (_, _, problems, short) in zip(subscribers, outcomes, strict=True)
        if problems or short
    ]
    received = sum(o[0] for o in outcomes)
    resets = sum(o[1] for o in outcomes)
    summary(
        f"burst ({layer or 'default layer'}, capacity {layer_capacity}): "
        f"{len(subscribers)} subscribers x {BURST} events "
        f"(published in {published_in:.1f} s, all delivered in {delivered_in:.1f} s), "
        f"delivered {received}/{len(subscribers) * BURST}, resets {resets}, "
        f"subscribers with a silent gap or out of order {len(silent)}"
    )
    assert not silent, f"silent shortfall at {len(silent)}/{len(subscribers)} subscribers:\n" + "\n".join(silent[:5])
    for socket in subscribers:
        assert socket.close_code is None, f"{socket.label} was closed ({socket.close_code}) by the burst"
    await clients.close_all(subscribers)
