"""
How cost grows: from one `bench/run.py` result with fan-out scenarios, plot p99 latency and
server CPU per delivered message, one line per target, and write the table beside it.

- against sockets (the default): scenarios of one group, one rate and several socket counts
  (`ws:1000@2,ws:2000@2,ws:5000@2,ws:10000@2`); writes curves.png and curves.md;
- against streams (`--against streams`): the same sockets spread over several groups
  (`ws:5000@10,ws:100x50@10,ws:1000x5@10`); writes curves-streams.png and curves-streams.md,
  with the server CPU per event too (the events are shared by fewer sockets as streams grow).

    .venv/bin/python bench/curves.py bench/results/curves.json --out bench/results
    .venv/bin/python bench/curves.py bench/results/curves-streams.json --against streams --out bench/results
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

SPEC = re.compile(r"^ws:(?:(\d+)x)?(\d+)@(\d+(?:\.\d+)?)$")


class Point(NamedTuple):
    x: int  # sockets, or streams
    sockets: int
    p99_ms: float
    cpu_us_per_msg: float
    cpu_ms_per_event: float | None
    delivery: float


def points(results: dict[str, Any], against: str = "sockets") -> dict[str, list[Point]]:
    """target -> its points, by x: one-group scenarios against sockets, or every fan-out
    scenario against its groups (streams)."""
    out: dict[str, list[Point]] = {}
    for spec, scenario in results["scenarios"].items():
        found = SPEC.match(spec)
        if not found:
            continue
        groups = int(found.group(1) or 1)
        if against == "sockets" and groups != 1:
            continue
        sockets = groups * int(found.group(2))
        for target, row in scenario["targets"].items():
            latency = row.get("latency_ms") or {}
            if "p99" not in latency or row.get("server_cpu_us_per_msg") is None:
                continue
            sent = row.get("sent") or 0
            per_event = row["server_cpu_s"] / sent * 1000.0 if sent and "server_cpu_s" in row else None
            x = sockets if against == "sockets" else groups
            out.setdefault(target, []).append(
                Point(x, sockets, latency["p99"], row["server_cpu_us_per_msg"], per_event, row.get("delivery", 0.0))
            )
    return {target: sorted(rows) for target, rows in out.items()}


def plot(curves: dict[str, list[Point]], path: Path, against: str) -> None:
    fig, (latency, cpu) = plt.subplots(1, 2, figsize=(12, 4))
    for target, rows in curves.items():
        xs = [r.x for r in rows]
        latency.plot(xs, [r.p99_ms for r in rows], marker="o", label=target)
        cpu.plot(xs, [r.cpu_us_per_msg for r in rows], marker="o", label=target)
    title = f"against {against}" + (f" ({curves_sockets(curves)} sockets)" if against == "streams" else "")
    latency.set(xlabel=against, ylabel="p99 ms (log)", yscale="log", title=f"p99 latency {title}")
    cpu.set(xlabel=against, ylabel="server CPU us per delivered message", title=f"CPU per message {title}")
    for axes in (latency, cpu):
        axes.set_xscale("log")
        axes.grid(alpha=0.3)
    if against == "streams":
        cpu.set_yscale("log")
    latency.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def curves_sockets(curves: dict[str, list[Point]]) -> str:
    counts = sorted({r.sockets for rows in curves.values() for r in rows})
    return "/".join(str(n) for n in counts)


def table(curves: dict[str, list[Point]], against: str) -> str:
    if against == "sockets":
        lines = ["| target | sockets | delivery | p99 ms | server CPU us/msg |", "|---|---|---|---|---|"]
        for target, rows in curves.items():
            for r in rows:
                lines.append(f"| {target} | {r.x} | {r.delivery:.3f} | {r.p99_ms:,.0f} | {r.cpu_us_per_msg:.1f} |")
        return "\n".join(lines) + "\n"
    lines = [
        "| target | streams | sockets | delivery | p99 ms | server CPU us/msg | server CPU ms/event |",
        "|---|---|---|---|---|---|---|",
    ]
    for target, rows in curves.items():
        for r in rows:
            per_event = f"{r.cpu_ms_per_event:.2f}" if r.cpu_ms_per_event is not None else "-"
            lines.append(
                f"| {target} | {r.x} | {r.sockets} | {r.delivery:.3f} | {r.p99_ms:,.0f} | "
                f"{r.cpu_us_per_msg:.1f} | {per_event} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", type=Path)
    parser.add_argument("--against", choices=("sockets", "streams"), default="sockets")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    results = json.loads(args.result.read_text())
    curves = points(results, args.against)
    if not curves:
        raise SystemExit(f"{args.result} has no fan-out scenario to plot against {args.against}")
    stem = "curves" if args.against == "sockets" else "curves-streams"
    args.out.mkdir(parents=True, exist_ok=True)
    plot(curves, args.out / f"{stem}.png", args.against)
    (args.out / f"{stem}.md").write_text(
        f"# Cost against {args.against}\n\nFrom `{results['meta']['command']}` ({results['meta']['started']}).\n\n"
        + table(curves, args.against)
    )
    print(table(curves, args.against))


if __name__ == "__main__":
    main()
