"""Writes a run's results: raw JSON, a Markdown summary with ratios to `bare`, PNG plots.

The results document is `{"meta": {...}, "scenarios": {spec: {"description": ...,
"targets": {name: result}}}, "skipped": {name: reason}}`, where a result is what
`harness.Runner.run` returned, or `{"skipped": reason}` / `{"error": reason}`.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

Results = dict[str, Any]
Row = dict[str, Any]


def write_all(results: Results, out_dir: Path, stamp: str, baseline: str) -> list[Path]:
    """Write `<stamp>.json`, `latest.md` and the plots; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{stamp}.json"
    raw.write_text(json.dumps(results, indent=2, default=str))
    return [raw, *write_reports(results, out_dir, baseline)]


def write_reports(results: Results, out_dir: Path, baseline: str) -> list[Path]:
    """Write `latest.md` and the plots from a results document; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "latest.md"
    markdown.write_text(render_markdown(results, baseline))
    return [markdown, *write_plots(results, out_dir)]


# --- Markdown -------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.1f}x"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _measured(scenario: Results) -> dict[str, Row]:
    return {name: r for name, r in scenario["targets"].items() if "skipped" not in r and "error" not in r}


def _problems(scenario: Results) -> list[str]:
    lines = []
    for name, result in scenario["targets"].items():
        if "error" in result:
            lines.append(f"- {name}: error: {result['error']}")
        elif "skipped" in result:
            lines.append(f"- {name}: not run: {result['skipped']}")
    return lines


def _notes(name: str, result: Row) -> list[str]:
    notes = []
    if result.get("connect_failed"):
        notes.append(f"{result['connect_failed']} connects failed {result['connect_errors']}")
    if result.get("post_errors"):
        notes.append(f"POST errors {result['post_errors']}")
    achieved, wanted = result.get("achieved_rate"), result.get("target_rate")
    if achieved is not None and wanted and achieved < 0.9 * wanted:
        notes.append(f"events posted at {achieved:.1f}/s of {wanted:g}/s (POSTs slower than the schedule)")
    warm_up = result.get("warm_up", {})
    if warm_up.get("received", 0) < warm_up.get("expected", 0):
        notes.append(f"warm-up delivered {warm_up['received']} of {warm_up['expected']}")
    delivery = result.get("probe", result)
    if delivery.get("close_codes"):
        notes.append(f"closed by server {delivery['close_codes']}")
    if delivery.get("lost_sockets"):
        notes.append(f"{delivery['lost_sockets']} sockets lost")
    if result.get("cross_unit"):
        notes.append(f"**{result['cross_unit']} receipts outside their unit: FAILED**")
    if delivery.get("duplicates"):
        notes.append(f"{delivery['duplicates']} duplicates")
    return [f"- {name}: " + "; ".join(notes)] if notes else []


def _section(spec: str, scenario: Results, headers: list[str], cells: Callable[[Row], list[str]]) -> list[str]:
    """One scenario's table: a row per target that ran (`cells` gives the columns after the
    target and its connections), then notes and the targets that failed or did not run."""
    rows, notes = [], []
    for name, r in _measured(scenario).items():
        rows.append([name, f"{r['connected']}/{r['requested_sockets']}", *cells(r)])
        notes += _notes(name, r)
    return [
        f"### `{spec}`: {scenario['description']}",
        "",
        *_table(["target", "connected", *headers], rows),
        "",
        *notes,
        *_problems(scenario),
        "",
    ]


# Further references of the fan-out tables, when they ran: the production-shape baseline and the
# Node ceiling (the targets say "p99 <= 2x node-ws", "CPU/msg <= 2x bare-prod").
EXTRA_REFERENCES = ("bare-prod", "node-ws")


def _fanout_section(spec: str, scenario: Results, baseline: str) -> list[str]:
    tenants = scenario["kind"] == "tenants"
    measured = _measured(scenario)
    base = measured.get(baseline, {})
    base_lat = base.get("latency_ms", {})
    extra = {name: measured[name] for name in EXTRA_REFERENCES if name in measured and name != baseline}
    headers = [
        "sent",
        "delivery",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "server CPU us/msg",
        "Redis CPU us/msg",
        "client CPU us/msg",
        "server CPU %",
        "other procs CPU %",
        "peak RSS MB",
        f"p50 vs {baseline}",
        f"p99 vs {baseline}",
        f"CPU/msg vs {baseline}",
    ]
    for name in extra:
        headers += [f"p99 vs {name}", f"CPU/msg vs {name}"]
    if tenants:
        headers.insert(2, "cross-unit")

    def cells(r: Row) -> list[str]:
        lat = r.get("latency_ms", {})
        return [
            str(r["sent"]),
            _num(r["delivery"], 3),
            *([str(r["cross_unit"])] if tenants else []),
            _num(lat.get("p50"), 2),
            _num(lat.get("p90"), 2),
            _num(lat.get("p99"), 2),
            _num(lat.get("max"), 1),
            _num(r["server_cpu_us_per_msg"]),
            _num(r["aux_cpu_us_per_msg"]),
            _num(r["client_cpu_us_per_msg"]),
            _num(r["server_cpu_pct"], 0),
            _num(r.get("other_cpu_pct"), 0),
            _num(r["server_rss_mb_peak"]),
            _ratio(lat.get("p50"), base_lat.get("p50")),
            _ratio(lat.get("p99"), base_lat.get("p99")),
            _ratio(r["server_cpu_us_per_msg"], base.get("server_cpu_us_per_msg")),
            *(
                cell
                for ref in extra.values()
                for cell in (
                    _ratio(lat.get("p99"), ref.get("latency_ms", {}).get("p99")),
                    _ratio(r["server_cpu_us_per_msg"], ref.get("server_cpu_us_per_msg")),
                )
            ),
        ]

    return _section(spec, scenario, headers, cells)


def _storm_section(spec: str, scenario: Results, baseline: str) -> list[str]:
    base = _measured(scenario).get(baseline, {})
    base_hs = base.get("handshake_ms", {})
    headers = [
        "failed",
        "handshake p50 ms",
        "handshake p99 ms",
        "all done s",
        "server CPU ms/conn",
        "probe delivery",
        "probe p99 ms",
        f"handshake p99 vs {baseline}",
        f"CPU/conn vs {baseline}",
    ]

    def cells(r: Row) -> list[str]:
        hs, probe = r.get("handshake_ms", {}), r["probe"]
        return [
            str(r["connect_failed"]),
            _num(hs.get("p50"), 1),
            _num(hs.get("p99"), 1),
            _num(r["connect_s"], 2),
            _num(r["server_cpu_ms_per_connection"], 2),
            _num(probe["delivery"], 3),
            _num(probe["latency_ms"].get("p99"), 1),
            _ratio(hs.get("p99"), base_hs.get("p99")),
            _ratio(r["server_cpu_ms_per_connection"], base.get("server_cpu_ms_per_connection")),
        ]

    return _section(spec, scenario, headers, cells)


def _idle_section(spec: str, scenario: Results, baseline: str) -> list[str]:
    base = _measured(scenario).get(baseline, {})
    headers = [
        "open after idle",
        "RSS before MB",
        "RSS after MB",
        "KiB/conn",
        "conns per GB",
        "idle CPU %",
        f"memory/conn vs {baseline}",
    ]

    def cells(r: Row) -> list[str]:
        per_conn = r["rss_bytes_per_connection"]
        return [
            str(r["open_after_idle"]),
            _num(r["server_rss_mb_before"]),
            _num(r["server_rss_mb_after"]),
            _num(per_conn / 1024 if per_conn is not None else None),
            _num(r["connections_per_gb"]),
            _num(r["idle_server_cpu_pct"], 1),
            _ratio(per_conn, base.get("rss_bytes_per_connection")),
        ]

    return _section(spec, scenario, headers, cells)


PUBLISH_BASELINE = "raw-publish"
PER_EVENT_NAMES = {
    "redis_commands": "Redis commands",
    "db_transactions": "DB transactions",
    "db_rows_written": "DB rows written",
    "db_table_scans": "DB table scans",
}


def _publish_section(spec: str, scenario: Results, baseline: str) -> list[str]:
    """Per target: the knee, the costs per event (and their ratio to the hand-written publisher),
    then a row per step."""
    measured = _measured(scenario)
    base = measured.get(PUBLISH_BASELINE, {})
    names = [n for n in PER_EVENT_NAMES if any(n in r["per_event"] for r in measured.values())]
    summary = []
    for name, r in measured.items():
        costs = [_num(r["per_event"].get(n), 2) for n in names]
        ratios = [_ratio(r["per_event"].get(n), base.get("per_event", {}).get(n)) for n in names]
        knee = [_num(r["knee_rate"], 0), _num(r["knee_achieved_rate"])]
        summary.append([name, f"{r['connected']}/{r['requested_sockets']}", *knee, *costs, *ratios])
    headers = ["target", "connected", "knee events/s", "achieved at knee"]
    headers += [f"{PER_EVENT_NAMES[n]}/event" for n in names]
    headers += [f"{PER_EVENT_NAMES[n]} vs {PUBLISH_BASELINE}" for n in names]
    steps = []
    for name, r in measured.items():
        base_steps = {s["rate"]: s for s in base.get("steps", [])}
        for step in r["steps"]:
            lat = step["latency_ms"]
            steps.append(
                [
                    name,
                    f"{step['rate']:g}",
                    _num(step["achieved_rate"]),
                    _num(step["delivery"], 3),
                    _num(lat.get("p50"), 1),
                    _num(lat.get("p99"), 1),
                    _num(step["server_cpu_us_per_event"]),
                    _ratio(
                        step["server_cpu_us_per_event"], base_steps.get(step["rate"], {}).get("server_cpu_us_per_event")
                    ),
                    "yes" if step["within_limit"] else "**no**",
                ]
            )
    step_headers = ["target", "offered/s", "achieved/s", "delivery", "p50 ms", "p99 ms", "server CPU us/event"]
    step_headers += [f"CPU/event vs {PUBLISH_BASELINE}", "within limit"]
    db_note = (
        "Database work is counted from Postgres's statistics of the target's own database (BENCH_POSTGRES_URL): "
        "transactions, rows written and table scans, not statements (pg_stat_statements needs a server restart)."
        if any("db_transactions" in r["per_event"] for r in measured.values())
        else "Database work is not counted on SQLite: set BENCH_POSTGRES_URL to count it on Postgres."
    )
    notes = [line for name, r in measured.items() for line in _notes(name, r)]
    return [
        f"### `{spec}`: {scenario['description']}",
        "",
        *_table(headers, summary),
        "",
        f"Costs per event over every step; the ratios divide by `{PUBLISH_BASELINE}` (INSERT + XADD + PUBLISH by "
        f"hand). Redis commands include the background ones over the same time (presence, reconciliation). {db_note}",
        "",
        *_table(step_headers, steps),
        "",
        *notes,
        *_problems(scenario),
        "",
    ]


SECTIONS: dict[str, tuple[str, Callable[[str, Results, str], list[str]]]] = {
    "fanout": ("Fan-out: latency from the POST to each recipient", _fanout_section),
    "tenants": (
        "Multi-tenant: each unit's events to its own users only (cross-unit receipts fail the run)",
        _fanout_section,
    ),
    "publish": ("Publish throughput: events/s until p99 passes the limit", _publish_section),
    "storm": ("Connect storms", _storm_section),
    "idle": ("Idle connections: server memory", _idle_section),
}


def render_markdown(results: Results, baseline: str) -> str:
    """The human summary: one table per scenario, grouped by kind."""
    meta = results["meta"]
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{meta['command']}`  ",
        f"Started {meta['started']}, {meta['cpu_count']} CPUs, load average {meta['loadavg_start']:.2f} at the start, "
        f"{meta['load_client_workers']} load-client worker processes, Python {meta['python']}.",
        "",
        f"Latency is per recipient, from just before the POST that created the event to the frame's arrival. "
        f"Delivery = received / (events sent x sockets requested). CPU is the server's process tree "
        f"(Redis separately) over the posting and delivery window; `other procs CPU %` is what processes "
        f"outside the benchmark used meanwhile (100 = one core), a sign of a noisy machine. The `vs {baseline}` "
        f"columns divide by the `{baseline}` app's figure from this same run: lower is better. See bench/README.md.",
        "",
    ]
    for kind, (title, render) in SECTIONS.items():
        specs = [spec for spec, s in results["scenarios"].items() if s["kind"] == kind]
        if specs:
            lines += [f"## {title}", ""]
            for spec in specs:
                lines += render(spec, results["scenarios"][spec], baseline)
    if results["skipped"]:
        lines += ["## Targets not run", ""]
        for name, reason in results["skipped"].items():
            lines.append(f"- **{name}**: {_short(reason)}")
        lines.append("")
    return "\n".join(lines)


def _short(reason: str) -> str:
    """First and last line of a long reason (a command and the end of its traceback)."""
    lines = [line.strip() for line in reason.strip().splitlines() if line.strip()]
    if len(lines) <= 2:
        return " ".join(lines)
    return f"{lines[0]} ... {lines[-1]} (full output in the JSON file)"


# --- plots ----------------------------------------------------------------------------------


def _target_names(results: Results) -> list[str]:
    names: list[str] = []
    for scenario in results["scenarios"].values():
        names += [n for n in _measured(scenario) if n not in names]
    return names


def write_plots(results: Results, out_dir: Path) -> list[Path]:
    """`latency.png`, `delivery.png` and `cpu.png` for the fan-out scenarios."""
    fanout = {
        spec: s for spec, s in results["scenarios"].items() if s["kind"] in ("fanout", "tenants") and _measured(s)
    }
    if not fanout:
        return []
    names = _target_names({"scenarios": fanout})
    return [
        _latency_plot(fanout, names, out_dir / "latency.png"),
        _bar_plot(
            fanout, names, out_dir / "delivery.png", "delivery", "delivery ratio (received / sent x sockets)", log=False
        ),
        _bar_plot(
            fanout,
            names,
            out_dir / "cpu.png",
            "server_cpu_us_per_msg",
            "server CPU per delivered message (us, log)",
            log=True,
        ),
    ]


def _latency_plot(fanout: dict[str, Results], names: list[str], path: Path) -> Path:
    cols = min(3, len(fanout))
    rows = (len(fanout) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    marks = ["p50", "p90", "p99", "max"]
    width = 0.8 / len(marks)
    for ax, (spec, scenario) in zip(axes.flat, fanout.items(), strict=False):
        measured = _measured(scenario)
        shown = [n for n in names if n in measured]
        for j, mark in enumerate(marks):
            values = [measured[n].get("latency_ms", {}).get(mark, 0) or 0 for n in shown]
            ax.bar([i + j * width for i in range(len(shown))], values, width, label=mark)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(shown))], shown, rotation=20)
        ax.set_yscale("log")
        ax.set_title(spec)
        ax.set_ylabel("latency ms (log)")
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(fanout) :]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.suptitle("Latency percentiles per target, per fan-out scenario")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _bar_plot(fanout: dict[str, Results], names: list[str], path: Path, key: str, ylabel: str, *, log: bool) -> Path:
    specs = list(fanout)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(specs) * max(1, len(names)) / 2), 4.5))
    for j, name in enumerate(names):
        values = [(_measured(fanout[s]).get(name, {}).get(key) or 0) for s in specs]
        ax.bar([i + j * width for i in range(len(specs))], values, width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(specs))], specs, rotation=20)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
