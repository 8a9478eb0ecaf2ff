"""
How cost grows: from one `bench/run.py` result with fan-out scenarios of one rate and several
socket counts (`ws:1000@2,ws:2000@2,ws:5000@2,ws:10000@2`), plot p99 latency and server CPU per
delivered message against the sockets, one line per target, and write the table beside it.

    .venv/bin/python bench/curves.py bench/results/curves.json --out bench/results
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

SPEC = re.compile(r"^ws:(\d+)@(\d+(?:\.\d+)?)$")


def points(results: dict[str, Any]) -> dict[str, list[tuple[int, float, float, float]]]:
    """target -> [(sockets, p99 ms, server CPU us/msg, delivery)], by sockets."""
    out: dict[str, list[tuple[int, float, float, float]]] = {}
    for spec, scenario in results["scenarios"].items():
        found = SPEC.match(spec)
        if not found:
            continue
        for target, row in scenario["targets"].items():
            latency = row.get("latency_ms") or {}
            if "p99" not in latency or row.get("server_cpu_us_per_msg") is None:
                continue
            out.setdefault(target, []).append(
                (int(found.group(1)), latency["p99"], row["server_cpu_us_per_msg"], row.get("delivery", 0.0))
            )
    return {target: sorted(rows) for target, rows in out.items()}


def plot(curves: dict[str, list[tuple[int, float, float, float]]], path: Path) -> None:
    fig, (latency, cpu) = plt.subplots(1, 2, figsize=(12, 4))
    for target, rows in curves.items():
        sockets = [r[0] for r in rows]
        latency.plot(sockets, [r[1] for r in rows], marker="o", label=target)
        cpu.plot(sockets, [r[2] for r in rows], marker="o", label=target)
    latency.set(xlabel="sockets", ylabel="p99 ms (log)", yscale="log", title="p99 latency against sockets")
    cpu.set(xlabel="sockets", ylabel="server CPU us per delivered message", title="CPU per message against sockets")
    for axes in (latency, cpu):
        axes.set_xscale("log")
        axes.grid(alpha=0.3)
    latency.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(curves: dict[str, list[tuple[int, float, float, float]]]) -> str:
    lines = ["| target | sockets | delivery | p99 ms | server CPU us/msg |", "|---|---|---|---|---|"]
    for target, rows in curves.items():
        for sockets, p99, cpu, delivery in rows:
            lines.append(f"| {target} | {sockets} | {delivery:.3f} | {p99:,.0f} | {cpu:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    results = json.loads(args.result.read_text())
    curves = points(results)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(curves, args.out / "curves.png")
    (args.out / "curves.md").write_text(
        f"# Cost against sockets\n\nFrom `{results['meta']['command']}` ({results['meta']['started']}).\n\n"
        + table(curves)
    )
    print(table(curves))


if __name__ == "__main__":
    main()
