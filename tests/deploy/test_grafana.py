"""deploy/grafana/syncline.json names only series that /metrics exports, and shows every one of them."""

from __future__ import annotations

import json
import re

from apps.realtime import metrics
from tests.support import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "syncline.json"


def exported() -> dict[str, str]:
    """Series name -> kind, as /metrics declares them (`# TYPE` lines)."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", metrics.render(), re.MULTILINE))


def queried() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    assert exprs, "the dashboard has no queries"
    return {name for expr in exprs for name in re.findall(r"\bsyncline_\w+", expr)}


def test_the_dashboard_queries_only_exported_series() -> None:
    kinds = exported()
    allowed = set(kinds) | {
        f"{n}_{s}" for n, k in kinds.items() if k == "histogram" for s in ("bucket", "sum", "count")
    }
    assert queried() <= allowed, f"not exported by /metrics: {sorted(queried() - allowed)}"


def test_the_dashboard_shows_every_exported_series() -> None:
    shown = {re.sub(r"_(bucket|sum|count)$", "", name) for name in queried()} | queried()
    assert set(exported()) <= shown, f"exported but on no panel: {sorted(set(exported()) - shown)}"
