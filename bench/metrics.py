"""Measurement helpers: CPU time and RSS of process trees (psutil), percentiles."""

import math
from collections.abc import Iterable, Sequence

import psutil

MB = 1024 * 1024


class ProcessMeter:
    """CPU seconds and resident memory of one or more process trees."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.roots: list[psutil.Process] = []
        for pid in pids:
            try:
                self.roots.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue

    def processes(self) -> list[psutil.Process]:
        """Every live process of the trees (roots and their descendants)."""
        found: list[psutil.Process] = []
        for root in self.roots:
            try:
                found.append(root)
                found.extend(root.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the live processes of the trees."""
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        """Resident set size of the trees, summed."""
        total = 0
        for proc in self.processes():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total


def system_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean (nearest rank); empty when there are no values."""
    if not values:
        return {}
    ordered = sorted(values)
    count = len(ordered)

    def rank(p: float) -> float:
        return ordered[min(count - 1, max(0, math.ceil(p / 100.0 * count) - 1))]

    return {
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": ordered[-1],
        "mean": sum(ordered) / count,
        "count": float(count),
    }


def per_unit(total: float, units: float, scale: float = 1.0) -> float | None:
    """`total / units * scale`, or None when there are no units."""
    return total / units * scale if units else None
