"""
Redis goes away under a running server: killed and started again empty, or paused. Open
sockets stay open, committed changes reach every socket, new handshakes succeed, and
nothing needs a server restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.reliability import clients
from tests.reliability.clients import Demo, Socket
from tests.reliability.conftest import Launch
from tests.reliability.faults import RedisProcess

NORTH_MEMBERS = ("alice", "bob", "sam", "nina")


def request_ids(socket: Socket) -> list[int]:
    return [e["request_id"] for e in socket.events()]


def changes_after(socket: Socket, marker: int) -> list[tuple[int, str]]:
    """(request id, action) of the events received after the event of request `marker`."""
    changes = [(e["request_id"], e["action"]) for e in socket.events()]
    seen = [c[0] for c in changes]
    return changes[seen.index(marker) + 1 :] if marker in seen else changes


def check_stream_order(socket: Socket) -> None:
    event_ids = [e["id"] for e in socket.events()]
    keys = [tuple(int(p) for p in i.split("-")) for i in event_ids]
    assert keys == sorted(set(keys)), f"{socket.label}: event ids not strictly increasing: {event_ids}"


async def test_sockets_survive_redis_restarting_empty_and_get_the_next_events(
    launch: Launch, redis: RedisProcess, demo: Demo, summary: Callable[[str], None]
) -> None:
    # 200 sockets from the four North members: above the default 50 per user per process.
    server = launch(REALTIME_MAX_SOCKETS_PER_USER="100")
    north = demo.units["North"]
    urls = [f"{server.ws}/ws/requests/{north}/?token={demo.token(NORTH_MEMBERS[i % 4])}" for i in range(200)]
    sockets = await clients.open_many(urls)
    await clients.all_of(sockets, lambda s: s.ping(), "subscribed (pong)")
    async with clients.api(server, demo.token("bob")) as bob, clients.api(server, demo.token("alice")) as alice:
        before = await clients.create_request(bob, north, "before the restart")
        await clients.all_of(sockets, lambda s: s.wait(lambda s: before in request_ids(s), "the first event"), "got it")

        redis.restart_empty()
        # At once: 50 new handshakes, and three changes, two of them to the same request.
        newcomers = await clients.open_many([urls[i] for i in range(50)])
        await clients.all_of(newcomers, lambda s: s.ping(), "a new handshake right after the restart answers ping")
        first = await clients.create_request(bob, north, "after the restart")
        await clients.approve_request(alice, first)
        second = await clients.create_request(bob, north, "after the restart, another")
        made = [(first, "created"), (first, "approved"), (second, "created")]

        def all_made(s: Socket) -> bool:
            return set(made) <= set(changes_after(s, before))

        everyone = sockets + newcomers
        await clients.all_of(everyone, lambda s: s.wait(all_made, f"the events {made}", 20), "after the restart")

    delivered = sum(len(set(changes_after(s, before)) & set(made)) for s in everyone)
    resets = sum(s.count("stream.reset") for s in sockets)
    inverted = [
        s for s in everyone if changes_after(s, before).index(made[0]) > changes_after(s, before).index(made[1])
    ]
    closed = [s for s in everyone if s.close_code is not None]
    summary(
        f"redis-restart: {len(sockets)} clients, {len(made)} events, delivered {delivered}/{len(everyone) * len(made)} "
        f"(with {len(newcomers)} new handshakes made at once, all accepted), resets {resets}, closed {len(closed)}, "
        f"approved before created {len(inverted)}"
    )
    for socket in everyone:
        check_stream_order(socket)
        changes = changes_after(socket, before)
        assert len(changes) == len(set(changes)), f"{socket.label}: an event arrived twice: {changes}"
        assert socket.close_code is None, f"a socket was closed ({socket.close_code}) by the Redis restart"
    assert not inverted, (
        f"{len(inverted)} sockets got request {first} approved before created ({changes_after(inverted[0], before)}): "
        "a client keeping the latest event per object would show it pending"
    )
    await clients.close_all(everyone)


async def test_changes_made_while_redis_is_paused_are_all_delivered_after_it(
    launch: Launch, redis: RedisProcess, demo: Demo, summary: Callable[[str], None]
) -> None:
    server = launch()
    north = demo.units["North"]
    sockets = await clients.open_many(
        f"{server.ws}/ws/requests/{north}/?token={demo.token(NORTH_MEMBERS[i % 4])}" for i in range(20)
    )
    await clients.all_of(sockets, lambda s: s.ping(), "subscribed (pong)")
    async with clients.api(server, demo.token("bob")) as bob:

        async def change(n: int) -> tuple[int, float]:
            started = time.monotonic()
            return await clients.create_request(bob, north, f"during the pause {n}"), time.monotonic() - started

        with redis.paused():
            # Five changes begin during the 5 s pause; their commits do not wait for Redis.
            posts = [asyncio.create_task(change(n)) for n in range(5)]
            await asyncio.sleep(5)  # the fault's duration, not a synchronisation
        answered = await asyncio.gather(*posts)
    made = [request_id for request_id, _ in answered]

    def all_made(s: Socket) -> bool:
        return set(made) <= set(request_ids(s))

    await clients.all_of(sockets, lambda s: s.wait(all_made, f"events of requests {made}", 30), "after the pause")
    delivered = sum(len(set(request_ids(s)) & set(made)) for s in sockets)
    duplicates = sum(len(request_ids(s)) - len(set(request_ids(s))) for s in sockets)
    summary(
        f"redis-pause: 5 s, {len(sockets)} clients, {len(made)} changes during the pause (201 within "
        f"{max(seconds for _, seconds in answered):.1f} s), delivered {delivered}/{len(sockets) * len(made)}, "
        f"redelivered {duplicates}"
    )
    for socket in sockets:
        check_stream_order(socket)
        assert socket.close_code is None, f"a socket was closed ({socket.close_code}) by the pause"
    await clients.close_all(sockets)
