"""
Across hosts: Redis and two Daphne servers each on a host of its own (network namespaces),
sharing one database; each server reaches Redis through a 20 ms round trip (10 ms each way,
tests/reliability/delay_proxy.py on the server's host). One server's host is cut off from
Redis for 15 s while clients on both servers keep their sockets. The other server's clients
are not affected; the cut-off server's clients get every event, or `stream.reset`, within 10 s
of the heal; events created on the cut-off server while it is cut off are delivered (its
outbox, relayed by whichever process reaches Redis first).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_client

from tests import support
from tests.reliability import clients, faults, netns
from tests.reliability.clients import SECRET_KEY, Demo, Socket

NORTH_MEMBERS = ("alice", "bob", "sam", "nina")
CUT = 15.0  # seconds the server is cut off from Redis
BOUND = 10.0  # seconds after the heal
DELAY_PROXY = Path(__file__).with_name("delay_proxy.py")


@pytest.fixture
def hosts() -> Iterator[tuple[netns.Network, netns.Host, netns.Host, netns.Host]]:
    with netns.network() as net:
        yield net, net.add("redis"), net.add("a"), net.add("b")


def request_ids(socket: Socket) -> set[int]:
    return {e["request_id"] for e in socket.events()}


async def test_a_server_cut_off_from_redis_catches_up_and_the_other_is_not_affected(
    hosts: tuple[netns.Network, netns.Host, netns.Host, netns.Host],
    demo_database: Path,
    demo: Demo,
    summary: Callable[[str], None],
) -> None:
    net, redis_host, a_host, b_host = hosts
    binary = shutil.which("redis-server")
    assert binary is not None
    redis_args = ["--bind", redis_host.address, "--port", "6379", "--protected-mode", "no", "--save", ""]
    procs = [subprocess.Popen(redis_host.command(binary, *redis_args), stdout=subprocess.DEVNULL)]
    # On each server's host, its Redis is a local port that forwards to Redis's host, 10 ms each way.
    for host in (a_host, b_host):
        link = [sys.executable, str(DELAY_PROXY), "127.0.0.1:6379", f"{redis_host.address}:6379", "10"]
        procs.append(subprocess.Popen(host.command(*link)))
    url = "redis://127.0.0.1:6379/0"
    servers: list[support.Server] = []
    try:
        support.wait_until(lambda: _answers(f"redis://{redis_host.address}:6379/0"), "Redis on its host answers", 10)
        for host in (a_host, b_host):
            support.wait_until(lambda h=host: _proxied(h), f"Redis through the link on {host.name}", 10)  # type: ignore[misc]
        env = {
            "REDIS_URL": url,
            "CELERY_BROKER_URL": url,
            "REDIS_PREFIX": f"hosts{uuid.uuid4().hex[:6]}",
            "CHANNEL_LAYER": "redis",
            "SECRET_KEY": SECRET_KEY,
        }
        a = support.Server(env, host=a_host.address, wrap=a_host.command())
        faults.copy_database(demo_database, Path(a.tmp))
        b = support.Server(env, db=a.db, host=b_host.address, wrap=b_host.command())
        servers += [a.start(migrate=False), b.start(migrate=False)]
        await _run(net, redis_host, a_host, a, b, demo, summary)
    finally:
        for server in servers:
            print(f"--- log of the server on {server.host} (last 4000 characters) ---")
            print(faults.server_log(server)[-4000:])
            server.stop()
        for proc in procs:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return bool(redis_client.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis_client.RedisError:
        return False


def _proxied(host: netns.Host) -> bool:
    ping = subprocess.run(host.command("redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"), capture_output=True)
    return ping.stdout.strip() == b"PONG"


async def _run(
    net: netns.Network,
    redis_host: netns.Host,
    a_host: netns.Host,
    a: support.Server,
    b: support.Server,
    demo: Demo,
    summary: Callable[[str], None],
) -> None:
    north = demo.units["North"]

    def urls(server: support.Server) -> list[str]:
        return [f"{server.ws}/ws/requests/{north}/?token={demo.token(NORTH_MEMBERS[i % 4])}" for i in range(10)]

    on_a, on_b = await clients.open_many(urls(a)), await clients.open_many(urls(b))
    everyone = on_a + on_b
    await clients.all_of(everyone, lambda s: s.ping(), "subscribed (pong)")
    async with clients.api(a, demo.token("bob")) as via_a, clients.api(b, demo.token("bob")) as via_b:
        before = await clients.create_request(via_b, north, "before the cut")
        await clients.all_of(everyone, lambda s: s.wait(lambda s: before in request_ids(s), "the first event"), "")

        net.cut(a_host, redis_host)
        cut_at = time.monotonic()
        try:
            made_on_b, made_on_a = [], []
            for n in range(3):
                made_on_b.append(await clients.create_request(via_b, north, f"on b during the cut {n}"))
                started = time.monotonic()
                made_on_a.append(await clients.create_request(via_a, north, f"on a during the cut {n}"))
                a_answered = time.monotonic() - started
            made = made_on_b + made_on_a

            # The other server's clients are not affected: everything reaches them during the
            # cut (what a made too, from the shared outbox, relayed by b).
            def all_made(s: Socket) -> bool:
                return set(made) <= request_ids(s)

            # Within the cut, or (a's requests took long, publishing failing) 10 s after the last.
            left = max(cut_at + CUT - time.monotonic(), BOUND)
            await clients.all_of(on_b, lambda s: s.wait(all_made, f"the events of {made} during the cut", left), "")
            b_had_all = time.monotonic() - cut_at
            await asyncio.sleep(max(0.0, cut_at + CUT - time.monotonic()))  # the fault's duration
        finally:
            net.heal(a_host, redis_host)
        healed = time.monotonic()

    def settled(s: Socket) -> bool:
        return s.count("stream.reset") > 0 or set(made) <= request_ids(s)

    await clients.all_of(on_a, lambda s: s.wait(settled, f"every event of {made} or stream.reset", BOUND), "")
    took = time.monotonic() - healed
    whole = sum(1 for s in on_a if set(made) <= request_ids(s))
    resets = sum(1 for s in on_a if s.count("stream.reset"))
    summary(
        f"across hosts: server a cut off from Redis {CUT:.0f} s (20 ms round trip to Redis), 10 clients on each "
        f"server, {len(made)} events during the cut (3 made on a, 201 within {a_answered:.1f} s): b's clients had all "
        f"{b_had_all:.1f} s into the cut; a's clients settled {took:.1f} s after the heal, every event on {whole}/10, "
        f"stream.reset on {resets}/10; closed {sum(1 for s in everyone if s.close_code is not None)}; silent gaps 0"
    )
    for socket in everyone:
        assert socket.close_code is None, f"{socket.label}: closed ({socket.close_code})"
        got = [e["request_id"] for e in socket.events()]
        assert len(got) == len(set(got)), f"{socket.label}: an event arrived twice: {got}"
    await clients.close_all(everyone)
