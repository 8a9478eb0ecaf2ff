"""The progress app's settings (`PROGRESS` in settings.py; docs/deployment.md lists them), read
over these defaults so a project sets only what differs."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Progress frames per job per second at most; start, warnings, errors and completion always go.
    "MAX_UPDATES_PER_SECOND": 10,
    # Largest `total_items` a job may ask for.
    "MAX_ITEMS": 100_000,
    # A pause after each item, in milliseconds: 0 in production; demos and tests slow jobs down to watch them.
    "ITEM_DELAY_MS": 0,
}


def progress_setting(name: str) -> Any:
    return {**DEFAULTS, **(getattr(settings, "PROGRESS", None) or {})}[name]
