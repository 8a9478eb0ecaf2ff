"""
The Redis topologies of docs/deployment.md under faults, on real processes: a Sentinel group
(master, replica, three Sentinels) whose master is SIGKILLed under load, with two Daphne
processes and a Celery worker on the Sentinel URL; and two Redis servers sharing the streams
(REALTIME_REDIS_URLS), one of which dies; and `make run` with a Sentinel URL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from apps.realtime.redis_config import shard_for
from tests import support
from tests.notifications.test_worker_publishing import celery_worker
from tests.reliability import clients, faults
from tests.reliability.clients import SECRET_KEY, Demo, Socket
from tests.reliability.conftest import launcher

MEMBERS = {"North": ("alice", "bob", "sam", "nina"), "South": ("carol", "dan")}
WRITERS = {"North": "bob", "South": "dan"}


def request_ids(socket: Socket) -> set[int]:
    return {e["request_id"] for e in socket.events()}


def check_order(socket: Socket) -> None:
    keys = [tuple(int(p) for p in e["id"].split("-")) for e in socket.events()]
    assert keys == sorted(keys), f"{socket.label}: event ids out of order"


class Writer:
    """Creates requests over HTTP at a steady rate (alternating units and servers), without
    waiting for one answer before the next: the rate holds while Redis is failing over. At
    most `in_flight` requests wait for their answer at once: on a starved machine the rate
    drops instead of piling up writers on the database (SQLite's lock is not fair)."""

    in_flight = 8

    def __init__(self, servers: list[support.Server], demo: Demo, units: dict[str, int], per_second: float) -> None:
        self.servers, self.demo, self.units, self.interval = servers, demo, units, 1 / per_second
        self.committed: list[tuple[str, int, float]] = []  # (unit, request id, when answered, monotonic)
        self.refused: list[str] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(self.in_flight)
        self.started = self.stopped = 0.0

    async def _one(self, client: httpx.AsyncClient, unit: str, n: int) -> None:
        body = {"unit": self.units[unit], "request_type": "storage", "title": f"under load {n}"}
        try:
            response = await client.post("/api/requests/", json=body)
        except httpx.HTTPError as exc:
            self.refused.append(f"{unit} #{n}: {exc!r}")
            return
        finally:
            self._slots.release()
        if response.status_code != 201:
            self.refused.append(f"{unit} #{n}: {response.status_code} {response.text[:200]}")
            return
        self.committed.append((unit, int(response.json()["id"]), time.monotonic()))

    async def _run(self) -> None:
        names = list(self.units)
        api = [
            clients.api(server, self.demo.token(WRITERS[unit])) for server in self.servers for unit in names
        ]  # (server, unit) pairs
        pending: set[asyncio.Task[None]] = set()
        n = 0
        self.started = time.monotonic()
        try:
            while not self._stop.is_set():
                await self._slots.acquire()
                unit = names[n % len(names)]
                client = api[(n // len(names)) % len(self.servers) * len(names) + n % len(names)]
                pending.add(asyncio.create_task(self._one(client, unit, n)))
                n += 1
                await asyncio.sleep(self.interval)  # the rate of writes, not a synchronisation
            self.stopped = time.monotonic()
            await asyncio.gather(*pending)
        finally:
            for client in api:
                await client.aclose()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    async def until(self, done: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s; refused: {self.refused[:3]}"
            await asyncio.sleep(0.05)  # polling the answers the writer collects

    def rate(self) -> float:
        return len(self.committed) / max(self.stopped - self.started, 0.001)

    def after(self, moment: float) -> int:
        return sum(1 for _, _, at in self.committed if at > moment)

    def of(self, unit: str, until: float = float("inf")) -> set[int]:
        return {rid for u, rid, at in self.committed if u == unit and at <= until}


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[faults.SentinelGroup]:
    with faults.sentinel_group(tmp_path) as group:
        yield group


async def test_a_sentinel_failover_under_load_loses_no_committed_event(
    demo_database: Path, demo: Demo, sentinels: faults.SentinelGroup, summary: Callable[[str], None]
) -> None:
    env = {"PROGRESS_ITEM_DELAY_MS": "100"}
    with launcher(demo_database, sentinels.url) as launch:
        first = launch(**env)
        second = launch(share=first, **env)
        servers = [first, second]
        log = Path(first.tmp) / "worker.log"
        with celery_worker(first.env, log) as worker:
            try:
                await failover_under_load(servers, demo, sentinels, summary)
            finally:
                print(f"--- worker log (alive: {worker.poll() is None}) ---\n{log.read_text()[-4000:]}")


async def failover_under_load(
    servers: list[support.Server], demo: Demo, sentinels: faults.SentinelGroup, summary: Callable[[str], None]
) -> None:
    units = {name: demo.units[name] for name in MEMBERS}
    urls = []
    for n in range(100):
        unit = list(MEMBERS)[n % 2]
        member = MEMBERS[unit][(n // 2) % len(MEMBERS[unit])]
        urls.append((unit, f"{servers[(n // 2) % 2].ws}/ws/requests/{units[unit]}/?token={demo.token(member)}"))
    sockets = await clients.open_many(url for _, url in urls)
    unit_of = {id(s): unit for s, (unit, _) in zip(sockets, urls, strict=True)}
    await clients.all_of(sockets, lambda s: s.ping(), "subscribed (pong)")

    # A progress job run by the worker across the failover: 100 items at 100 ms.
    async with clients.api(servers[0], demo.token("alice")) as alice:
        response = await alice.post("/api/progress/jobs/", json={"task_type": "report_generation", "total_items": 100})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
    job = await Socket.open(f"{servers[1].ws}/ws/progress/{job_id}/?token={demo.token('alice')}")
    await job.wait(lambda s: s.count("progress.updated") >= 1, "the job's first event (the worker started it)", 60)

    writer = Writer(servers, demo, units, per_second=10)
    writer.start()
    await writer.until(lambda: len(writer.committed) >= 20, "20 events committed before the failover")
    killed_at = time.monotonic()
    sentinels.master.kill()
    while sentinels.writable_master() is not sentinels.replica:
        assert time.monotonic() - killed_at < 30, "the Sentinels did not promote the replica within 30s"
        await asyncio.sleep(0.05)  # polling the Sentinels
    writable_at = time.monotonic()
    await writer.until(lambda: writer.after(writable_at) >= 20, "20 events committed after the failover")
    await writer.stop()
    assert not writer.refused, f"{len(writer.refused)} writes failed: {writer.refused[:3]}"

    def has_all(until: float) -> Callable[[Socket], bool]:
        return lambda s: s.count("stream.reset") > 0 or writer.of(unit_of[id(s)], until) <= request_ids(s)

    # The contract: within 10 s of the new master being writable, every subscriber has every
    # event committed until then, or stream.reset.
    bound = max(1.0, writable_at + 10 - time.monotonic())
    await clients.all_of(sockets, lambda s: s.wait(has_all(writable_at), "every event before the failover", bound), "")
    # Later events are live ones.
    await clients.all_of(sockets, lambda s: s.wait(has_all(float("inf")), "every event after it", 10), "after")

    await job.wait(
        lambda s: (
            any(e["action"] in ("complete", "error") for e in s.of_type("progress.updated"))
            or s.count("stream.reset") > 0
        ),
        "the job's end (or stream.reset)",
        60,
    )
    async with clients.api(servers[0], demo.token("alice")) as alice:
        stored = (await alice.get(f"/api/progress/jobs/{job_id}/")).json()
    outbox = [await clients.metrics(server) for server in servers]

    during = [rid for _, rid, at in writer.committed if killed_at <= at <= writable_at + 1]
    resets = [s for s in sockets if s.count("stream.reset")]
    closed = [s for s in sockets if s.close_code is not None]
    lost = sum(len(writer.of(unit_of[id(s)]) - request_ids(s)) for s in sockets if not s.count("stream.reset"))
    relayed = sum(m.get("syncline_outbox_retries_total", 0) for m in outbox)
    summary(
        f"sentinel-failover: {len(sockets)} clients on 2 servers, {len(writer.committed)} events at "
        f"{writer.rate():.1f}/s, master SIGKILLed, new master writable after {writable_at - killed_at:.1f} s; "
        f"delayed (committed during the failover) {len(during)}, replayed from the outbox {relayed:.0f} times, "
        f"reset {len(resets)} sockets, lost {lost}, closed {len(closed)}; progress job {stored['status']} "
        f"({job.count('progress.updated')} events)"
    )
    for socket in sockets:
        check_order(socket)
        assert socket.close_code is None, f"a socket was closed ({socket.close_code}) by the failover"
    assert stored["status"] == "completed", stored
    if not job.count("stream.reset"):
        assert job.of_type("progress.updated")[-1]["action"] == "complete"
    await clients.close_all([*sockets, job])


# -- two shards ---------------------------------------------------------------------------------
async def test_two_redis_shards_carry_streams_each_and_losing_one_stops_only_its_streams(
    demo_database: Path, demo: Demo, summary: Callable[[str], None]
) -> None:
    with (
        faults.restartable_redis() as one,
        faults.restartable_redis() as two,
        launcher(demo_database, one.url) as launch,
    ):
        shards = [one, two]
        env = {"REALTIME_REDIS_URLS": f"{one.url},{two.url}"}
        first = launch(**env)
        second = launch(share=first, **env)
        await two_shards(first, second, shards, demo, summary)


async def two_shards(
    first: support.Server,
    second: support.Server,
    shards: list[faults.RedisProcess],
    demo: Demo,
    summary: Callable[[str], None],
) -> None:
    # The demo's units (ids 1, 2) hash to the same shard of two: add units until one hashes
    # to each, with bob as a member who can create requests there.
    code = (
        "from apps.accounts.models import Membership, Unit, User\n"
        "from apps.realtime.redis_config import shard_for\n"
        "bob = User.objects.get(username='bob')\n"
        "units = {}\n"
        "while len(units) < 2:\n"
        "    unit = Unit.objects.create(name=f'Shard test {Unit.objects.count()}')\n"
        "    units.setdefault(shard_for(f'requests.unit.{unit.pk}', 2), unit.pk)\n"
        "for pk in units.values():\n"
        "    Membership.objects.create(user=bob, unit_id=pk, role='requester')\n"
        "print(units[0], units[1])\n"
    )
    unit_ids = [int(pk) for pk in (await clients.manage_shell(first, code)).split()]
    assert [shard_for(f"requests.unit.{pk}", 2) for pk in unit_ids] == [0, 1]
    token = demo.token("bob")
    # 10 sockets per unit on each server.
    sockets: dict[int, list[Socket]] = {}
    for shard, unit in enumerate(unit_ids):
        sockets[shard] = await clients.open_many(
            f"{server.ws}/ws/requests/{unit}/?token={token}" for server in (first, second) for _ in range(10)
        )
    everyone = sockets[0] + sockets[1]
    await clients.all_of(everyone, lambda s: s.ping(), "subscribed (pong)")

    async with clients.api(first, token) as via_first, clients.api(second, token) as via_second:
        made: dict[int, list[int]] = {0: [], 1: []}
        for shard, unit in enumerate(unit_ids):
            made[shard].append(await clients.create_request(via_first, unit, "through the first server"))
            made[shard].append(await clients.create_request(via_second, unit, "through the second server"))
        for shard in (0, 1):
            await clients.all_of(
                sockets[shard],
                lambda s, shard=shard: s.wait(lambda s: set(made[shard]) <= request_ids(s), f"events {made[shard]}"),
                f"shard {shard}: events through either server",
            )
        # Each stream's history and group (on the pub/sub layer a channel the servers subscribe
        # to) are on its own shard, and only there.
        keys = [
            {k.decode() for k in shard.client().keys("*")} | {c.decode() for c in shard.client().pubsub_channels()}
            for shard in shards
        ]
        for shard, unit in enumerate(unit_ids):
            history = next(k for k in keys[shard] if k.endswith(f":history:requests.unit.{unit}"))
            group = next(k for k in keys[shard] if k.endswith(f"__group__requests.unit.{unit}"))
            assert not {history, group} & keys[1 - shard], f"unit {unit}'s keys are on both shards"

        shards[1].kill()
        after = [
            await clients.create_request(client, unit_ids[0], "shard 1 is dead") for client in (via_first, via_second)
        ]
        await clients.all_of(
            sockets[0],
            lambda s: s.wait(lambda s: set(after) <= request_ids(s), f"events {after} with the other shard dead"),
            "the live shard's sockets keep receiving",
        )
        dead = await via_first.post(
            "/api/requests/", json={"unit": unit_ids[1], "request_type": "storage", "title": "x"}
        )
        assert dead.status_code == 201, "a write to the dead shard's stream commits; the outbox keeps its event"
        ready = httpx.get(f"{first.base}/readyz", timeout=10)

    assert ready.status_code == 503 and "127.0.0.1" in ready.text, ready.text
    for socket in everyone:
        check_order(socket)
        assert socket.close_code is None, f"a socket was closed ({socket.close_code})"
    summary(
        f"redis-shards: 2 servers x 2 Redis shards, {len(everyone)} clients, 4 events through either server reached "
        f"every socket of their shard; shard 1 killed: shard 0's {len(sockets[0])} sockets got {len(after)} more "
        f"events, writes to shard 1's stream committed (kept in the outbox), no socket closed"
    )
    await clients.close_all(everyone)


# -- make run --------------------------------------------------------------------------------
async def test_make_run_with_a_sentinel_url_serves_events_and_runs_tasks(
    demo_database: Path, demo: Demo, sentinels: faults.SentinelGroup, tmp_path: Path
) -> None:
    """What `REDIS_URL=redis+sentinel://... make run` does (migrate, seed_demo, then
    scripts/run_dev.sh: a Celery worker and the server of run_asgi.sh), and an event through it."""
    env = {"REDIS_URL": sentinels.url, "REDIS_PREFIX": "makerun", "CELERY_BROKER_URL": "", "SECRET_KEY": SECRET_KEY}
    server = support.Server(env)
    faults.copy_database(demo_database, Path(server.tmp))
    server.env.update(HOST="127.0.0.1", PORT=str(server.port))
    server.manage("migrate", "--noinput")
    server.manage("seed_demo", "--force")
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["scripts/run_dev.sh"], cwd=support.ROOT, env=server.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server.proc, server.log = proc, log
    try:
        server.wait_ready(60)
        bob_id, north = demo.users["bob"], demo.units["North"]
        bob = await clients.Socket.open(f"{server.ws}/ws/notifications/{bob_id}/?token={demo.token('bob')}")
        requests = await clients.Socket.open(f"{server.ws}/ws/requests/{north}/?token={demo.token('bob')}")
        await bob.ping()
        await requests.ping()
        async with clients.api(server, demo.token("bob")) as api:
            made = await clients.create_request(api, north, "through Sentinel")
        await requests.wait(lambda s: made in request_ids(s), f"the event of request {made}")
        async with clients.api(server, demo.token("admin")) as admin:
            sent = await admin.post("/api/notifications/", json={"user": bob_id, "title": "Hi", "body": "via a task"})
            assert sent.status_code == 202, sent.text
        # The task runs in the worker run_dev.sh started, which found the broker through the Sentinels.
        await bob.wait(lambda s: s.count("notification.created") == 1, "the notification the worker sent", 60)
        await clients.close_all([bob, requests])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(log.read_text(errors="replace")[-4000:])
        server.proc = None
        server.stop()
