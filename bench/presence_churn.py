"""Presence churn: sockets connecting and disconnecting on one stream, and what that costs.

    .venv/bin/python bench/presence_churn.py                     # 200 connects/s for 20 s, both streams
    .venv/bin/python bench/presence_churn.py --rate 200 --duration 20 --watchers 20

The product under Daphne with a private Redis, as the `syncline` target sets it up (bench/
targets/syncline.py), plus `--users` members of the demo unit North made for the run (the
demo has four; churn needs many users, since one user's sockets are one member). Then, per
stream:

- `requests.unit.<North>` (presence): `--watchers` sockets of other users stay open and
  receive every join and leave; `--rate` sockets a second connect as the next user in turn,
  wait for their `presence.state`, stay `--hold` s and close. A user comes back every
  users/rate s, well past the 5 s grace, so each connection is a join and, 5 s after it
  closes, a leave.
- `invoices` (no presence): the same churn, waiting for a pong instead, for comparison.

Reported, counted from the first connect to 7 s after the last (the last leaves) and given
per second of churn: connects done and failed, joins and leaves each watcher received,
server CPU (% of one core, and ms per connection), Redis CPU and commands per second by
command (INFO commandstats and INFO cpu, before and after), in a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import websockets
from targets.procs import run_once
from targets.syncline import BACKEND_DIR, VENV_BIN, SynclineTarget

TAIL = 7.0  # seconds measured after the last connect
MAKE_USERS = """
import json, sys
from rest_framework_simplejwt.tokens import AccessToken
from apps.accounts.models import Membership, Unit, User
north = Unit.objects.get(name="North")
tokens = []
for i in range({users}):
    user, _ = User.objects.get_or_create(username=f"churn{{i}}")
    Membership.objects.get_or_create(user=user, unit=north)
    tokens.append(str(AccessToken.for_user(user)))
json.dump({{"unit": north.pk, "tokens": tokens}}, open({path!r}, "w"))
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_stats(target: SynclineTarget) -> tuple[Counter[str], float]:
    assert target.redis is not None
    client = target.redis.client()
    calls = Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()})
    cpu = client.info("cpu")
    return calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


class Churn:
    def __init__(self, base: str, path: str, tokens: list[str], presence: bool) -> None:
        self.base, self.path, self.tokens, self.presence = base, path, tokens, presence
        self.done = self.failed = 0
        self.received: Counter[str] = Counter()

    async def one(self, token: str, hold: float) -> None:
        try:
            async with websockets.connect(f"{self.base}{self.path}?token={token}", open_timeout=20) as ws:
                if self.presence:
                    while json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] != "presence.state":
                        pass
                else:
                    await ws.send('{"type":"ping"}')
                    while json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] != "pong":
                        pass
                await asyncio.sleep(hold)
            self.done += 1
        except (OSError, TimeoutError, websockets.WebSocketException):
            self.failed += 1

    async def watch(self, token: str, stop: asyncio.Event) -> None:
        async with websockets.connect(f"{self.base}{self.path}?token={token}", open_timeout=20) as ws:
            while not stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                self.received[message["type"]] += 1


async def run_stream(target: SynclineTarget, path: str, presence: bool, tokens: list[str], args: Any) -> dict[str, Any]:
    watchers, churners = tokens[: args.watchers], tokens[args.watchers :]
    churn = Churn(target.ws_base, path, churners, presence)
    stop = asyncio.Event()
    watching = [asyncio.create_task(churn.watch(t, stop)) for t in watchers]
    await asyncio.sleep(2)  # the watchers are in
    calls0, redis_cpu0 = redis_stats(target)
    cpu0, start = cpu_seconds(target.pid), time.monotonic()
    tasks = []
    for i in range(int(args.rate * args.duration)):
        delay = start + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(churn.one(churners[i % len(churners)], args.hold)))
    await asyncio.gather(*tasks)
    # the last leaves come a grace (5 s) after their close, and a tick; both streams wait the
    # same, so their figures cover the same window
    await asyncio.sleep(TAIL)
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(target.pid) - cpu0
    calls1, redis_cpu1 = redis_stats(target)
    stop.set()
    await asyncio.gather(*watching)
    # per second of churn (what the tail adds belongs to it: the leaves)
    per_command = {
        name: (calls1[name] - calls0[name]) / args.duration for name in calls1 if calls1[name] > calls0[name]
    }
    return {
        "stream": path,
        "connects": churn.done,
        "failed": churn.failed,
        "elapsed": elapsed,
        "received": dict(churn.received),
        "cpu_pct": 100 * cpu / args.duration,
        "cpu_ms_per_conn": 1000 * cpu / max(churn.done, 1),
        "redis_cpu_pct": 100 * (redis_cpu1 - redis_cpu0) / args.duration,
        "redis_cmds": sum(per_command.values()),
        "redis_top": sorted(per_command.items(), key=lambda kv: -kv[1])[:5],
    }


def render(rows: list[dict[str, Any]], args: Any) -> str:
    out = [
        f"presence churn: {args.rate:g} connects/s for {args.duration:g} s, each held {args.hold:g} s, "
        f"{args.users} users, {args.watchers} watchers",
        "",
        "| stream | connects (failed) | joins / leaves per watcher | server CPU | ms CPU/conn "
        "| Redis CPU | Redis cmds/s | top commands/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        joins = r["received"].get("presence.join", 0) / max(args.watchers, 1)
        leaves = r["received"].get("presence.leave", 0) / max(args.watchers, 1)
        top = ", ".join(f"{name} {rate:,.0f}" for name, rate in r["redis_top"])
        out.append(
            f"| `{r['stream']}` | {r['connects']} ({r['failed']}) | {joins:,.0f} / {leaves:,.0f} "
            f"| {r['cpu_pct']:.0f}% | {r['cpu_ms_per_conn']:.2f} | {r['redis_cpu_pct']:.1f}% "
            f"| {r['redis_cmds']:,.0f} | {top} |"
        )
    return "\n".join(out)


async def main_async(args: Any) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="syncline-churn-"))
    target = SynclineTarget(workdir)
    target.prepare()
    try:
        path = workdir / "tokens.json"
        code = MAKE_USERS.format(users=args.users + args.watchers, path=str(path))
        run_once(
            [str(VENV_BIN / "python"), "manage.py", "shell", "-c", code],
            cwd=BACKEND_DIR,
            env=target._env(),
            log=workdir / "users.log",
            timeout_s=300,
        )
        made = json.loads(path.read_text())
        rows = []
        for stream_path, presence in ((f"/ws/requests/{made['unit']}/", True), ("/ws/invoices/", False)):
            target.start()  # a fresh server per stream: nothing of one row spills into the other
            try:
                rows.append(await run_stream(target, stream_path, presence, made["tokens"], args))
            finally:
                target.stop()
        print(render(rows, args))
    finally:
        target.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="connects per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of churn per stream")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds each churning socket stays")
    parser.add_argument("--users", type=int, default=2000, help="churning users (each comes back every users/rate s)")
    parser.add_argument("--watchers", type=int, default=20, help="sockets that stay and count joins and leaves")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
