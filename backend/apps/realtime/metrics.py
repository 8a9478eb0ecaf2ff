"""
Process-local metrics in the Prometheus text format, served at `/metrics`. Small on
purpose: counters, gauges and one histogram, labelled by one value, no dependency.
Each server process reports its own; scrape every process (docs/deployment.md).
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict


class Counter:
    kind = "counter"

    def __init__(self, name: str, help_text: str, label: str = "") -> None:
        self.name, self.help, self.label = name, help_text, label
        self.values: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        REGISTRY.append(self)

    def inc(self, label_value: str = "", amount: float = 1) -> None:
        with self._lock:
            self.values[label_value] += amount

    def samples(self) -> list[str]:
        return [f"{self.name}{self._labels(k)} {v:g}" for k, v in sorted(self.values.items())]

    def _labels(self, value: str) -> str:
        return f'{{{self.label}="{value}"}}' if self.label else ""


class Gauge(Counter):
    kind = "gauge"

    def dec(self, label_value: str = "", amount: float = 1) -> None:
        self.inc(label_value, -amount)

    def set(self, value: float, label_value: str = "") -> None:
        with self._lock:
            self.values[label_value] = value


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self._lock = threading.Lock()
        REGISTRY.append(self)

    def observe(self, value: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(self.buckets, value)] += 1
            self.total += value

    def samples(self) -> list[str]:
        out, running = [], 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            out.append(f'{self.name}_bucket{{le="{bound:g}"}} {running}')
        running += self.counts[-1]
        out += [f'{self.name}_bucket{{le="+Inf"}} {running}', f"{self.name}_sum {self.total:g}"]
        out.append(f"{self.name}_count {running}")
        return out


REGISTRY: list[Counter | Histogram] = []

connections = Gauge("syncline_connections_open", "Open WebSocket and SSE connections.", "route")
events_published = Counter("syncline_events_published_total", "Events published, by stream kind.", "kind")
events_delivered = Counter("syncline_events_delivered_total", "Frames handed to sockets, by stream kind.", "kind")
closes = Counter("syncline_socket_closes_total", "Sockets closed by the server, by close code.", "code")
replays = Counter("syncline_replays_total", "Resumes served from history.")
resets = Counter("syncline_resets_total", "stream.reset sent (history could not fill a gap).")
reconciled = Counter(
    "syncline_reconciles_total", "Streams found behind their history by a reconcile (then filled or reset)."
)
layer_errors = Counter("syncline_transport_errors_total", "Channel-layer receive failures (Redis reconnects).")
outbox_retries = Counter("syncline_outbox_retries_total", "Outbox rows left for the relay after a failure.")
asyncio_tasks = Gauge("syncline_asyncio_tasks", "asyncio tasks of the server's event loop at scrape time.")
outbox_backlog = Gauge("syncline_outbox_backlog", "Outbox rows waiting at the last relay pass.")
presence_members = Gauge(
    "syncline_presence_members", "Members of presence streams with a connection in this process (per stream)."
)
presence_joins = Counter("syncline_presence_joins_total", "Presence joins this process recorded.")
presence_leaves = Counter("syncline_presence_leaves_total", "Presence leaves this process recorded (swept ones too).")
delivery_latency = Histogram(
    "syncline_delivery_latency_seconds",
    "From publish to hand-off to the socket, seconds.",
    (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def render() -> str:
    lines: list[str] = []
    for metric in REGISTRY:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
        lines += metric.samples()
    return "\n".join(lines) + "\n"
