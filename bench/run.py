"""Benchmark entry point: run scenarios against several servers side by side, write reports.

    python bench/run.py --quick
    python bench/run.py --targets bare,tutorial,eventstream --scenarios ws:1000@10,sse:1000@10
    python bench/run.py --list
    python bench/run.py --render bench/results/<timestamp>.json

Targets are prepared once (migrations, private Redis), then every scenario runs against each
target in turn, with a fresh server process per scenario; scenario-major order keeps the
targets' measurements of one scenario close together in time on a shared machine. Writes
`bench/results/<timestamp>.json`, `bench/results/latest.md` and `bench/results/*.png`.
"""

import argparse
import asyncio
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from harness import Options, Runner, ScenarioError
from httpclient import HttpError
from loadclient import LoadClient, raise_nofile_limit
from report import write_all, write_reports
from scenarios import PRESETS, Scenario, ScenarioSpecError, parse_scenarios
from targets import BASELINE, TARGETS, Target, TargetUnavailableError

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_TARGETS = "bare,tutorial,eventstream,syncline"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the `quick` preset with --duration 3: about a minute")
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help=f"comma-separated, from {', '.join(TARGETS)} (default: %(default)s)"
    )
    parser.add_argument(
        "--scenarios", default=None, help=f"comma-separated specs or presets ({', '.join(PRESETS)}); default: full"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds of posting per fan-out scenario (default 10, quick 3)"
    )
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds between connecting and the first event (default %(default)s)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=10.0,
        help="most seconds to wait for deliveries after the last POST (default %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=2, help="load-client worker processes (default %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory (default bench/results)")
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        help="re-write latest.md and the plots from a saved results JSON, then exit",
    )
    parser.add_argument(
        "--list", action="store_true", help="print the targets, presets and scenario grammar, then exit"
    )
    return parser.parse_args(argv)


def print_catalogue() -> None:
    """`--list`: what can be run."""
    print("targets:", ", ".join(TARGETS))
    for name, specs in PRESETS.items():
        print(f"preset {name}: {','.join(specs)}")
    grammar = "ws:1000@10  ws:50x100@10  sse:1000@10  storm:ws:2000/2  idle:ws:1000  tenants:500x10@100  publish:1000"
    print("spec grammar:", grammar)


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def unsupported(target: Target, scenario: Scenario) -> str | None:
    """Why `target` cannot run `scenario`, or None."""
    if scenario.transport not in target.transports:
        return f"no {scenario.transport} transport"
    if scenario.kind != "tenants" and scenario.groups > target.max_groups:
        return f"needs {scenario.groups} groups, the target offers {target.max_groups}"
    return None


def summary_line(result: dict[str, Any]) -> str:
    """One line of the main figures of a result, for the progress log."""
    if "error" in result:
        return f"error: {result['error']}"
    if result["kind"] == "idle":
        per_conn = result["rss_bytes_per_connection"]
        kib = f"{per_conn / 1024:.1f} KiB/conn" if per_conn is not None else "no memory figure"
        return f"{result['connected']} idle, {kib}"
    if result["kind"] == "publish":
        knee, costs = result["knee_rate"], result["per_event"]
        steps = ", ".join(f"{s['rate']}/s p99 {s['latency_ms'].get('p99', 0):.0f} ms" for s in result["steps"])
        costs_text = ", ".join(f"{v:.1f} {k}" for k, v in costs.items() if v is not None)
        return (
            f"knee {knee if knee is not None else 'below the first step'} events/s ({steps}); per event: {costs_text}"
        )
    delivery = result.get("probe", result)
    latency = delivery["latency_ms"]
    text = f"{result['connected']}/{result['requested_sockets']} connected, delivery {delivery['delivery'] or 0:.3f}"
    if latency:
        text += f", p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms"
    if result["kind"] == "tenants":
        text += f", {result['cross_unit']} cross-unit"
    if result["kind"] in ("fanout", "tenants") and result["server_cpu_us_per_msg"] is not None:
        text += (
            f", {result['server_cpu_us_per_msg']:.0f} us CPU/msg, other processes {result['other_cpu_pct']:.0f}% CPU"
        )
    return text


class Bench:
    """One run: prepared targets, the load client, the results document."""

    def __init__(self, args: argparse.Namespace, scenarios: list[Scenario], workdir: Path) -> None:
        self.scenarios = scenarios
        self.options = Options(
            duration_s=args.duration if args.duration is not None else (3.0 if args.quick else 10.0),
            settle_s=args.settle,
            drain_s=args.drain,
        )
        self.workdir = workdir
        self.names = [n.strip() for n in args.targets.split(",") if n.strip()]
        self.workers = args.workers
        self.targets: dict[str, Target] = {}
        self.results: dict[str, Any] = {
            "meta": {
                "command": shlex.join(["python", "bench/run.py", *sys.argv[1:]]),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpu_count": os.cpu_count(),
                "loadavg_start": os.getloadavg()[0],
                "python": platform.python_version(),
                "load_client_workers": args.workers,
                "options": self.options.__dict__,
                "workdir": str(workdir),
            },
            "scenarios": {
                s.spec: {"kind": s.kind, "description": s.describe(self.options.duration_s), "targets": {}}
                for s in scenarios
            },
            "skipped": {},
        }

    async def prepare(self) -> None:
        """Set up every target once; a target that cannot be set up is skipped with its reason."""
        for name in self.names:
            target = TARGETS[name](self.workdir)
            log(f"preparing {name}")
            try:
                await asyncio.to_thread(target.prepare)
            except TargetUnavailableError as exc:
                self._skip(target, str(exc))
                continue
            except BaseException:
                target.cleanup()  # it may have started its Redis before failing
                raise
            self.targets[name] = target

    def _skip(self, target: Target, reason: str) -> None:
        log(f"skipping {target.name}: {reason}")
        self.results["skipped"][target.name] = reason
        self.targets.pop(target.name, None)
        target.cleanup()

    async def run(self) -> None:
        """Every scenario against every prepared target that supports it."""
        client = LoadClient(self.workers)
        runner = Runner(client, self.options)
        try:
            await self.prepare()
            for scenario in self.scenarios:
                for target in list(self.targets.values()):
                    await self._run_one(runner, target, scenario)
        finally:
            for target in self.targets.values():
                target.cleanup()
            client.shutdown()
        self.results["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")

    async def _run_one(self, runner: Runner, target: Target, scenario: Scenario) -> None:
        slot = self.results["scenarios"][scenario.spec]["targets"]
        reason = unsupported(target, scenario)
        if reason:
            slot[target.name] = {"skipped": reason}
            return
        log(f"{scenario.spec} on {target.name}")
        try:
            target.configure(scenario.kind)
            await asyncio.to_thread(target.start)
            slot[target.name] = await runner.run(target, scenario)
        except TargetUnavailableError as exc:
            self._skip(target, str(exc))
            return
        except (ScenarioError, HttpError) as exc:
            slot[target.name] = {"error": str(exc)}
        finally:
            await asyncio.to_thread(target.stop)
        log(f"{scenario.spec} on {target.name}: {summary_line(slot[target.name])}")


def main(argv: list[str]) -> int:
    """Parse the command line, run, write the reports."""
    args = parse_args(argv)
    if args.list:
        print_catalogue()
        return 0
    if args.render:
        for path in write_reports(json.loads(args.render.read_text()), args.out, BASELINE):
            log(f"wrote {path}")
        return 0
    unknown = [n for n in args.targets.split(",") if n.strip() and n.strip() not in TARGETS]
    if unknown:
        print(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    try:
        scenarios = parse_scenarios(args.scenarios or ("quick" if args.quick else "full"))
    except ScenarioSpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    nofile = raise_nofile_limit()
    biggest = max(s.sockets for s in scenarios)
    if nofile < biggest + 1000:
        log(f"warning: open-file limit {nofile} is low for {biggest} sockets; raise the hard limit (ulimit -Hn)")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix=f"syncline-bench-{stamp}-"))
    log(f"server logs and databases in {workdir}")
    bench = Bench(args, scenarios, workdir)
    try:
        uvloop.run(bench.run())
    except KeyboardInterrupt:
        log("interrupted: servers and load-client workers stopped, no report written")
        return 130
    for path in write_all(bench.results, args.out, stamp, BASELINE):
        log(f"wrote {path}")
    if wrong := cross_unit_failures(bench.results):
        log(f"FAILED: deliveries outside their unit: {wrong}")
        return 1
    return 0


def cross_unit_failures(results: dict[str, Any]) -> dict[str, int]:
    """`scenario on target` -> receipts outside their unit, for every run that had any."""
    return {
        f"{spec} on {name}": result["cross_unit"]
        for spec, scenario in results["scenarios"].items()
        for name, result in scenario["targets"].items()
        if result.get("cross_unit")
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
