"""
A stream that gets no further events after a fault. Nothing comes after the missed events to
reveal the gap, so the server must find it by itself: whenever a process rejoins its streams
(Redis restarted, came back, or its receive connection was cut), it compares each stream's
last delivered id with the history's newest and fills the gap or sends `stream.reset`. The
servers here run with the periodic audit off (`REALTIME_RECONCILE_INTERVAL=0`), so only the
rejoin can save the events; the contract's bound is 10 s after Redis is writable again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests import support
from tests.reliability import clients
from tests.reliability.clients import Demo, Socket
from tests.reliability.conftest import Launch
from tests.reliability.faults import RedisProcess

NORTH_MEMBERS = ("alice", "bob", "sam", "nina")
BOUND = 10.0  # seconds after Redis is writable again


def request_ids(socket: Socket) -> set[int]:
    return {e["request_id"] for e in socket.events()}


async def north_sockets(server: support.Server, demo: Demo, n: int = 20) -> list[Socket]:
    north = demo.units["North"]
    urls = [f"{server.ws}/ws/requests/{north}/?token={demo.token(NORTH_MEMBERS[i % 4])}" for i in range(n)]
    sockets = await clients.open_many(urls)
    await clients.all_of(sockets, lambda s: s.ping(), "subscribed (pong)")
    return sockets


async def test_a_quiet_stream_gets_every_event_or_a_reset_after_redis_restarts_empty(
    launch: Launch, redis: RedisProcess, demo: Demo, summary: Callable[[str], None]
) -> None:
    server = launch(REALTIME_RECONCILE_INTERVAL="0")
    north = demo.units["North"]
    sockets = await north_sockets(server, demo)
    async with clients.api(server, demo.token("bob")) as bob:
        redis.kill()
        made = [await clients.create_request(bob, north, f"while Redis is down {n}") for n in range(3)]
        # The fault's duration, not a synchronisation: an outage of some seconds, long enough
        # for the server's reconnect attempts to back off.
        await asyncio.sleep(6)
        redis.start_empty()
        writable = time.monotonic()
        await asyncio.sleep(2)  # the scenario: one more change 2 s after Redis is back, then none
        made.append(await clients.create_request(bob, north, "right after Redis came back"))

    def settled(s: Socket) -> bool:
        return s.count("stream.reset") > 0 or set(made) <= request_ids(s)

    remaining = max(0.0, writable + BOUND - time.monotonic())
    await clients.all_of(sockets, lambda s: s.wait(settled, f"every event of {made} or stream.reset", remaining), "")
    took = time.monotonic() - writable
    whole = sum(1 for s in sockets if set(made) <= request_ids(s))
    resets = sum(1 for s in sockets if s.count("stream.reset"))
    summary(
        f"quiet stream, Redis restarted empty: {len(sockets)} clients, {len(made)} events (3 committed while Redis "
        f"was down), settled {took:.1f} s after Redis was back: every event on {whole}, stream.reset on {resets}, "
        f"silent gaps 0"
    )
    for socket in sockets:
        assert socket.close_code is None, f"{socket.label}: closed ({socket.close_code}) by the restart"
    await clients.close_all(sockets)


async def test_a_quiet_stream_is_filled_when_the_receive_connection_is_cut(
    launch: Launch, redis: RedisProcess, demo: Demo, summary: Callable[[str], None]
) -> None:
    """Redis stays up, but forgets the server's group membership (as after a failover to a
    replica that had not replicated it) and the server's receive connection is killed."""
    server = launch(REALTIME_RECONCILE_INTERVAL="0", CHANNEL_LAYER="redis")  # its groups are keys, read by BZPOPMIN
    north = demo.units["North"]
    sockets = await north_sockets(server, demo)
    r = redis.client()
    async with clients.api(server, demo.token("bob")) as bob:
        first = await clients.create_request(bob, north, "before the cut")
        await clients.all_of(sockets, lambda s: s.wait(lambda s: first in request_ids(s), "the first event"), "")
        await asyncio.sleep(1.5)  # past the hub's tail check after `first`: the stream is quiet now

        groups = list(r.scan_iter(match=f"*:group:requests.unit.{north}"))
        assert groups, "the server's group of the stream is not in Redis"
        r.delete(*groups)
        lost = await clients.create_request(bob, north, "while the group is forgotten")
        cut = time.monotonic()
        receivers = [c["id"] for c in r.client_list() if c.get("cmd") == "bzpopmin"]
        assert receivers, "no receive connection (BZPOPMIN) to cut"
        for client_id in receivers:
            r.client_kill_filter(_id=client_id)

    def filled(s: Socket) -> bool:
        return lost in request_ids(s)

    await clients.all_of(sockets, lambda s: s.wait(filled, f"the event of request {lost}", BOUND), "")
    took = time.monotonic() - cut
    resets = sum(s.count("stream.reset") for s in sockets)
    summary(
        f"quiet stream, receive connection cut and group forgotten: {len(sockets)} clients, the lost event filled "
        f"from the history on all {len(sockets)} in {took:.1f} s, stream.reset {resets}, silent gaps 0"
    )
    assert resets == 0, "the history still held the event: it should have been filled, not reset"
    for socket in sockets:
        assert [e["request_id"] for e in socket.events()].count(lost) == 1, f"{socket.label}: got it twice"
        assert socket.close_code is None
    await clients.close_all(sockets)
