"""Runs one scenario against one started target and returns its measurements as a dict.

Phases share one shape: connect clients through the `LoadClient`, optionally post events
(each key's `t0` taken just before its POST), wait for delivery to finish, collect the
per-recipient latencies, close the clients. CPU is the delta of psutil `cpu_times` of the
server's process tree (and, separately, its private Redis and the load-client workers)
over the posting-plus-delivery window. Every loop is bounded in count and in time.
"""

import asyncio
import itertools
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from httpclient import HttpClient, HttpError
from loadclient import CollectReport, ConnectReport, LoadClient
from metrics import MB, ProcessMeter, per_unit, percentiles, system_busy_seconds
from scenarios import PUBLISH_P99_LIMIT_MS, PUBLISH_RATES, Scenario
from targets import Target

WARM_UP_SOCKETS = 4
WARM_UP_EVENTS = 2
POLL_S = 0.2
POST_TIMEOUT_S = 10.0
# Postgres flushes a busy backend's statistics within about a second, an idle one's within 10 s.
PG_STATS_FLUSH_S = 11.0
# Tenant scenarios pick the unit and member of each event at random, the same ones in every run.
TENANT_SEED = 13


@dataclass(frozen=True)
class Options:
    """Knobs shared by every scenario of a run."""

    duration_s: float = 10.0  # fan-out: how long events are posted
    settle_s: float = 1.0  # pause between the last connect and the first event
    drain_s: float = 10.0  # most time to wait for deliveries after the last POST answered
    stall_s: float = 2.0  # delivery counts as finished when nothing new arrived for this long
    # Handshakes in flight per load-client worker outside storms: gentle, so that fan-out and idle
    # figures are not connect-storm figures (storms have their own scenario).
    connect_concurrency: int = 32
    connect_timeout_s: float = 15.0
    post_concurrency: int = 32  # POSTs in flight at once


class ScenarioError(Exception):
    """The scenario could not be measured on this target; the message says why."""


class Keys:
    """Event keys, unique over the whole run (a key never means two events)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.last = 0

    def next(self) -> int:
        """A new key."""
        self.last = next(self._counter)
        return self.last


@dataclass
class PostLog:
    """What the driver sent: `t0` of every key whose POST succeeded, and how POSTs went."""

    t0: dict[int, float]
    group_of: dict[int, int]
    errors: Counter[str]
    post_ms: list[float]
    elapsed_s: float


@dataclass
class Meters:
    """CPU meters of the server, its helpers, the load client and the driver (this process)."""

    server: ProcessMeter
    aux: ProcessMeter
    client: ProcessMeter
    driver: ProcessMeter

    def cpu(self) -> tuple[float, float, float, float]:
        """CPU seconds so far: (server, aux, load client, everything outside the benchmark)."""
        ours = self.server.cpu_seconds(), self.aux.cpu_seconds(), self.client.cpu_seconds()
        return (*ours, system_busy_seconds() - sum(ours) - self.driver.cpu_seconds())


class Runner:
    """Runs scenarios with one load client; the target is started by the caller."""

    def __init__(self, client: LoadClient, options: Options) -> None:
        self.client = client
        self.options = options
        self.keys = Keys()

    async def run(self, target: Target, scenario: Scenario) -> dict[str, Any]:
        """Warm the target up, then measure `scenario` on it."""
        meters = Meters(
            ProcessMeter(target.server_pids()),
            ProcessMeter(target.aux_pids()),
            ProcessMeter(self.client.pids),
            ProcessMeter([os.getpid()]),
        )
        async with HttpClient(timeout_s=POST_TIMEOUT_S, max_idle_per_host=self.options.post_concurrency) as http:
            await target.authenticate(http)
            warm_up = await self._warm_up(target, scenario, http)
            if scenario.kind == "fanout":
                result = await self._fanout(target, scenario, http, meters)
            elif scenario.kind == "publish":
                result = await self._publish(target, scenario, http, meters)
            elif scenario.kind == "tenants":
                result = await self._tenants(target, scenario, http, meters)
            elif scenario.kind == "storm":
                result = await self._storm(target, scenario, http, meters)
            else:
                result = await self._idle(target, scenario, meters)
        result.update(
            kind=scenario.kind,
            transport=scenario.transport,
            sockets=scenario.sockets,
            warm_up=warm_up,
            loadavg_1m=os.getloadavg()[0],
        )
        return result

    # --- phases -------------------------------------------------------------------------

    async def _connect(
        self, target: Target, scenario: Scenario, sockets: int, groups: int, *, spread_s: float = 0.0
    ) -> ConnectReport:
        urls = [target.stream_url(scenario.transport, g) for g in range(groups)]
        subscribe = [target.subscriptions(scenario.transport, g) for g in range(groups)]
        concurrency = sockets if spread_s else self.options.connect_concurrency
        return await self.client.connect(
            scenario.transport,
            urls,
            sockets,
            key_base=self.keys.last + 1,
            concurrency=concurrency,
            spread_s=spread_s,
            timeout_s=self.options.connect_timeout_s,
            subscribe=subscribe if any(subscribe) else None,
        )

    async def _post(
        self, target: Target, http: HttpClient, count: int, rate: float, groups: int, *, per_unit: int = 0
    ) -> PostLog:
        """POST `count` events at `rate`/s, at most `post_concurrency` in flight: round robin over
        the groups, or with `per_unit` (tenants) in a random unit as a random one of its members."""
        log = PostLog({}, {}, Counter(), [], 0.0)
        in_flight = asyncio.Semaphore(self.options.post_concurrency)
        started = time.monotonic()
        rng = random.Random(TENANT_SEED)
        picks = [
            (rng.randrange(groups), rng.randrange(per_unit)) if per_unit else (i % groups, 0) for i in range(count)
        ]

        async def post_one(i: int) -> None:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            async with in_flight:
                key, (group, member) = self.keys.next(), picks[i]
                log.group_of[key] = group
                log.t0[key] = t0 = time.monotonic()
                try:
                    if per_unit:
                        status = await target.post_tenant_event(http, key, group, member)
                    else:
                        status = await target.post_event(http, key, group)
                except HttpError as exc:
                    status, error = 0, exc.reason
                else:
                    error = f"HTTP {status}"
                log.post_ms.append((time.monotonic() - t0) * 1000.0)
                if not 200 <= status < 300:
                    log.errors[error] += 1
                    del log.t0[key]

        tasks = [asyncio.create_task(post_one(i)) for i in range(count)]
        _, pending = await asyncio.wait(tasks, timeout=count / rate + POST_TIMEOUT_S + 5.0)
        for task in pending:
            task.cancel()
        if pending:
            log.errors["no answer in time"] += len(pending)
        log.elapsed_s = time.monotonic() - started
        return log

    async def _drain(self, expected: int) -> float:
        """Wait until `expected` receipts arrived, nothing arrives any more, or `drain_s` passed."""
        started = time.monotonic()
        last_count, last_change = -1, started
        while time.monotonic() - started < self.options.drain_s:
            received, _ = await self.client.progress()
            now = time.monotonic()
            if received >= expected:
                break
            if received != last_count:
                last_count, last_change = received, now
            elif now - last_change >= self.options.stall_s:
                break
            await asyncio.sleep(POLL_S)
        return time.monotonic() - started

    async def _warm_up(self, target: Target, scenario: Scenario, http: HttpClient) -> dict[str, Any]:
        """A few clients and events, so lazy imports and pools do not land in the measurement."""
        report = await self._connect(target, scenario, WARM_UP_SOCKETS, 1)
        try:
            if report.ok == 0:
                raise ScenarioError(f"no {scenario.transport} client could connect: {dict(report.errors)}")
            await asyncio.sleep(0.2)
            log = await self._post(target, http, WARM_UP_EVENTS, 10.0, 1)
            await self._drain(len(log.t0) * report.ok)
            collected = await self.client.collect(log.t0)
        finally:
            await self.client.close()
        if log.errors:
            raise ScenarioError(f"warm-up POSTs failed: {dict(log.errors)}")
        return {"connected": report.ok, "expected": len(log.t0) * report.ok, "received": collected.received}

    async def _fanout(self, target: Target, scenario: Scenario, http: HttpClient, meters: Meters) -> dict[str, Any]:
        await asyncio.to_thread(target.prepare_groups, scenario.groups)
        rss_before = meters.server.rss_bytes()
        connected = await self._connect(target, scenario, scenario.sockets, scenario.groups)
        try:
            await asyncio.sleep(self.options.settle_s)
            cpu0, started = meters.cpu(), time.monotonic()
            rss_peak = _RssPeak(meters.server)
            count = max(1, round(scenario.rate * self.options.duration_s))
            log = await self._post(target, http, count, scenario.rate, scenario.groups)
            expected = sum(connected.per_group[log.group_of[k]] for k in log.t0)
            drain_s = await self._drain(expected)
            window_s, cpu1 = time.monotonic() - started, meters.cpu()
            rss_peak.stop()
            collected = await self.client.collect(log.t0)
        finally:
            await self.client.close()
        requested = _requested_per_group(scenario)
        return {
            **_connect_fields(connected, scenario.sockets),
            **_post_fields(log, scenario.rate),
            **_delivery_fields(collected, expected, sum(requested[log.group_of[k]] for k in log.t0)),
            **_cpu_fields(cpu0, cpu1, window_s, collected.received),
            "groups": scenario.groups,
            "rate": scenario.rate,
            "duration_s": self.options.duration_s,
            "drain_s": drain_s,
            "server_rss_mb_before": rss_before / MB,
            "server_rss_mb_peak": rss_peak.peak / MB,
        }

    async def _tenants(self, target: Target, scenario: Scenario, http: HttpClient, meters: Meters) -> dict[str, Any]:
        """Fan-out over many units, every socket its own user; receipts outside their unit counted."""
        sockets = await asyncio.to_thread(target.prepare_tenants, scenario.groups, scenario.per_group)
        connected = await self.client.connect(
            scenario.transport,
            [s.url for s in sockets],
            len(sockets),
            key_base=self.keys.last + 1,
            concurrency=self.options.connect_concurrency,
            timeout_s=self.options.connect_timeout_s,
            groups=[s.group for s in sockets],
            subscribe=[s.subscribe for s in sockets],
        )
        try:
            await asyncio.sleep(self.options.settle_s)
            cpu0, started = meters.cpu(), time.monotonic()
            rss_peak = _RssPeak(meters.server)
            count = max(1, round(scenario.rate * self.options.duration_s))
            log = await self._post(target, http, count, scenario.rate, scenario.groups, per_unit=scenario.per_group)
            expected = sum(connected.per_group[log.group_of[k]] for k in log.t0)
            drain_s = await self._drain(expected)
            window_s, cpu1 = time.monotonic() - started, meters.cpu()
            rss_peak.stop()
            collected = await self.client.collect(log.t0, log.group_of)
        finally:
            await self.client.close()
        # A receipt in the wrong unit is a failure, not a delivery.
        collected.received -= collected.cross_group
        requested = Counter(s.group for s in sockets)
        return {
            **_connect_fields(connected, scenario.sockets),
            **_post_fields(log, scenario.rate),
            **_delivery_fields(collected, expected, sum(requested[log.group_of[k]] for k in log.t0)),
            **_cpu_fields(cpu0, cpu1, window_s, collected.received),
            "cross_unit": collected.cross_group,
            "subscriptions_per_socket": max((len(s.subscribe) for s in sockets), default=0),
            "groups": scenario.groups,
            "rate": scenario.rate,
            "duration_s": self.options.duration_s,
            "drain_s": drain_s,
            "server_rss_mb_peak": rss_peak.peak / MB,
        }

    async def _publish(self, target: Target, scenario: Scenario, http: HttpClient, meters: Meters) -> dict[str, Any]:
        """Step the offered rate up with the same sockets listening, until p99 passes the limit."""
        connected = await self._connect(target, scenario, scenario.sockets, 1)
        steps: list[dict[str, Any]] = []
        try:
            await asyncio.sleep(self.options.settle_s)
            if "db_transactions" in await asyncio.to_thread(target.publish_counters):
                await asyncio.sleep(PG_STATS_FLUSH_S)  # the warm-up's and connects' statistics land first
            counters0, sent = await asyncio.to_thread(target.publish_counters), 0
            for rate in PUBLISH_RATES:
                before, _ = await self.client.progress()
                cpu0, started = meters.cpu(), time.monotonic()
                log = await self._post(target, http, max(1, round(rate * self.options.duration_s)), rate, 1)
                expected = connected.ok * len(log.t0)
                await self._drain(before + expected)
                window_s, cpu1 = time.monotonic() - started, meters.cpu()
                collected = await self.client.collect(log.t0)
                sent += len(log.t0)
                step = {
                    "rate": rate,
                    **_post_fields(log, rate),
                    **_delivery_fields(collected, expected, scenario.sockets * len(log.t0)),
                    **_cpu_fields(cpu0, cpu1, window_s, collected.received),
                    "server_cpu_us_per_event": per_unit(cpu1[0] - cpu0[0], len(log.t0), 1e6),
                }
                step["within_limit"] = _step_ok(step)
                steps.append(step)
                if not step["within_limit"]:
                    break
            if "db_transactions" in counters0:
                await asyncio.sleep(PG_STATS_FLUSH_S)  # let the server's backends report their statistics
            counters1 = await asyncio.to_thread(target.publish_counters)
        finally:
            await self.client.close()
        per_event = {name: per_unit(counters1[name] - counters0[name], sent) for name in counters0}
        if "redis_commands" in per_event:  # minus the INFO call that took the first reading
            per_event["redis_commands"] = per_unit(counters1["redis_commands"] - counters0["redis_commands"] - 1, sent)
        passed = [s["rate"] for s in steps if s["within_limit"]]
        return {
            **_connect_fields(connected, scenario.sockets),
            "steps": steps,
            "knee_rate": max(passed) if passed else None,
            "knee_achieved_rate": max((s["achieved_rate"] or 0.0 for s in steps if s["within_limit"]), default=None),
            "events": sent,
            "per_event": per_event,
            "p99_limit_ms": PUBLISH_P99_LIMIT_MS,
        }

    async def _storm(self, target: Target, scenario: Scenario, http: HttpClient, meters: Meters) -> dict[str, Any]:
        cpu0 = meters.cpu()
        connected = await self._connect(target, scenario, scenario.sockets, 1, spread_s=scenario.spread_s)
        cpu1 = meters.cpu()
        try:
            await asyncio.sleep(self.options.settle_s)
            log = await self._post(target, http, 1, 1.0, 1)
            expected = connected.ok * len(log.t0)
            await self._drain(expected)
            collected = await self.client.collect(log.t0)
        finally:
            await self.client.close()
        return {
            **_connect_fields(connected, scenario.sockets),
            "spread_s": scenario.spread_s,
            "server_cpu_ms_per_connection": per_unit(cpu1[0] - cpu0[0], connected.ok, 1000.0),
            "aux_cpu_ms_per_connection": per_unit(cpu1[1] - cpu0[1], connected.ok, 1000.0),
            "probe": _delivery_fields(collected, expected, scenario.sockets * len(log.t0)),
        }

    async def _idle(self, target: Target, scenario: Scenario, meters: Meters) -> dict[str, Any]:
        await asyncio.sleep(0.5)
        rss_before = meters.server.rss_bytes()
        connected = await self._connect(target, scenario, scenario.sockets, 1)
        try:
            await asyncio.sleep(max(2.0, self.options.settle_s))
            cpu0, started = meters.cpu(), time.monotonic()
            await asyncio.sleep(2.0)
            cpu1, window_s = meters.cpu(), time.monotonic() - started
            rss_after = meters.server.rss_bytes()
            _, still_open = await self.client.progress()
        finally:
            await self.client.close()
        # Sockets the server closed (a per-user cap, say) hold no memory: divide by those still open.
        per_conn = per_unit(rss_after - rss_before, still_open)
        return {
            **_connect_fields(connected, scenario.sockets),
            "open_after_idle": still_open,
            "server_rss_mb_before": rss_before / MB,
            "server_rss_mb_after": rss_after / MB,
            "rss_bytes_per_connection": per_conn,
            "connections_per_gb": 1e9 / per_conn if per_conn and per_conn > 0 else None,
            "idle_server_cpu_pct": (cpu1[0] - cpu0[0]) / window_s * 100.0,
        }


def _step_ok(step: dict[str, Any]) -> bool:
    """A publish step within the limit: p99 under it, everything delivered, the schedule kept."""
    p99 = step["latency_ms"].get("p99")
    return (
        p99 is not None
        and p99 <= PUBLISH_P99_LIMIT_MS
        and (step["delivery"] or 0.0) >= 0.999
        and not step["post_errors"]
        and (step["achieved_rate"] or 0.0) >= 0.9 * step["rate"]
    )


class _RssPeak:
    """Samples a meter's RSS in the background and keeps the highest value."""

    def __init__(self, meter: ProcessMeter, every_s: float = 0.5) -> None:
        self.meter = meter
        self.peak = meter.rss_bytes()
        self._task = asyncio.create_task(self._sample(every_s))

    async def _sample(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.peak = max(self.peak, await asyncio.to_thread(self.meter.rss_bytes))

    def stop(self) -> None:
        self._task.cancel()


def _requested_per_group(scenario: Scenario) -> Counter[int]:
    return Counter(i % scenario.groups for i in range(scenario.sockets))


def _connect_fields(report: ConnectReport, requested: int) -> dict[str, Any]:
    return {
        "connected": report.ok,
        "connect_failed": report.failed,
        "connect_errors": dict(report.errors),
        "connect_s": report.elapsed_s,
        "handshake_ms": percentiles([s * 1000.0 for s in report.handshake_s]),
        "requested_sockets": requested,
    }


def _post_fields(log: PostLog, rate: float) -> dict[str, Any]:
    sent = len(log.t0)
    return {
        "sent": sent,
        "post_errors": dict(log.errors),
        "post_ms": percentiles(log.post_ms),
        "achieved_rate": sent / log.elapsed_s if log.elapsed_s else None,
        "target_rate": rate,
    }


def _delivery_fields(collected: CollectReport, expected_connected: int, expected_requested: int) -> dict[str, Any]:
    return {
        "expected": expected_requested,
        "received": collected.received,
        "delivery": per_unit(collected.received, expected_requested),
        "delivery_of_connected": per_unit(collected.received, expected_connected),
        "latency_ms": percentiles(collected.latencies_ms),
        "duplicates": collected.duplicates,
        "unexpected": collected.unexpected,
        "lost_sockets": collected.lost_sockets,
        "close_codes": {str(code): n for code, n in collected.close_codes.items()},
        "sockets_with_none": collected.sockets_with_none,
    }


def _cpu_fields(
    cpu0: tuple[float, float, float, float], cpu1: tuple[float, float, float, float], window_s: float, delivered: int
) -> dict[str, Any]:
    server, aux, client, other = (b - a for a, b in zip(cpu0, cpu1, strict=True))
    return {
        "window_s": window_s,
        "server_cpu_s": server,
        "server_cpu_pct": server / window_s * 100.0 if window_s else None,
        "server_cpu_us_per_msg": per_unit(server, delivered, 1e6),
        "aux_cpu_us_per_msg": per_unit(aux, delivered, 1e6),
        "client_cpu_us_per_msg": per_unit(client, delivered, 1e6),
        # Processes outside the benchmark (the machine is shared): % of one core over the window.
        "other_cpu_pct": max(0.0, other) / window_s * 100.0 if window_s else None,
    }
