"""WebSocket routes, generated from the stream registry."""

from __future__ import annotations

import re
from typing import Any

from django.urls import path, re_path

from .consumers import HealthConsumer, NotFoundConsumer, RealtimeConsumer
from .streams import all_routes


def _route_regex(route: str) -> str:
    # Route values match loosely here; the consumer validates them (4400, not 4404).
    parts = re.split(r"\{(\w+)\}", route)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return rf"^ws/{regex}$"


def websocket_urlpatterns() -> list[Any]:
    patterns: list[Any] = [
        path("ws/", RealtimeConsumer.as_asgi()),
        path("ws/health/", HealthConsumer.as_asgi()),
    ]
    patterns += [re_path(_route_regex(r.path), RealtimeConsumer.as_asgi(route=r)) for r in all_routes()]
    patterns.append(re_path(r"", NotFoundConsumer.as_asgi()))
    return patterns
