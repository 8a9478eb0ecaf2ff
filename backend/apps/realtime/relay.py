"""
The outbox relay: a background thread of each server process that publishes the events
commit-time delivery could not (Redis was away). See publish.py.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from . import metrics
from .conf import realtime_settings
from .models import OutboxEvent
from .publish import relay_pending

logger = logging.getLogger(__name__)
_started = threading.Event()


def relay_once() -> int:
    published = relay_pending()
    metrics.outbox_backlog.set(OutboxEvent.objects.count())
    return published


def _run(interval: float) -> None:
    stop = threading.Event()
    while not stop.wait(interval):
        try:
            if relay_once():
                logger.info("outbox relay published delayed events")
        except Exception as exc:  # database or Redis away: try again next round
            logger.warning("outbox relay pass failed: %s", exc)
        finally:
            close_old_connections()


def start_relay() -> None:
    """Start the relay thread once per process (not under tests, which call relay_once)."""
    interval = realtime_settings.OUTBOX_RELAY_INTERVAL
    if not interval or _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, args=(interval,), name="realtime-outbox-relay", daemon=True).start()
