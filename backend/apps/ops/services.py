"""
What the operations page shows, gathered from every server process.

Each server process reports its figures (connections by route, subscribers by stream) every
`OPS_REPORT_INTERVAL` seconds: in the Redis modes to a key of its own with a short expiry, so
a process that stops reporting drops out; embedded, the one process reads its own. `snapshot()`
adds them up with the outbox backlog, and one process at a time (a Redis lock) publishes it on
the `ops` stream when it changed. `disconnect_user` ends a user's connections everywhere.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections import Counter
from typing import Any

import redis
from asgiref.sync import async_to_sync
from django.db import close_old_connections

from apps.realtime import control, hub, metrics
from apps.realtime.conf import realtime_settings
from apps.realtime.history import get_history
from apps.realtime.models import OutboxEvent
from apps.realtime.presence import get_store
from apps.realtime.publish import publish
from apps.realtime.streams import resolve

from .events import OpsUpdated
from .streams import ops

logger = logging.getLogger(__name__)

PROCESS = f"{socket.gethostname()}:{os.getpid()}"
# The streams with the most subscribers the snapshot lists.
BUSIEST = 20
_started = threading.Event()
_redis: redis.Redis | None = None


def _shared() -> redis.Redis | None:
    """The Redis the processes report to; None when embedded (one process, nothing to share)."""
    global _redis
    if realtime_settings.mode == "embedded":
        return None
    if _redis is None:
        _redis = redis.Redis.from_url(realtime_settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return _redis


def _key(name: str) -> str:
    return f"{realtime_settings.redis_prefix}:ops:{name}"


def local_report() -> dict[str, Any]:
    """This process's figures."""
    connections = {route: int(n) for route, n in sorted(metrics.connections.values.items()) if n > 0}
    return {"process": PROCESS, "connections": connections, "streams": hub.stream_counts()}


def reports() -> list[dict[str, Any]]:
    """Every live process's latest report."""
    shared = _shared()
    if shared is None:
        return [local_report()]
    keys = sorted(shared.scan_iter(match=_key("process:*"), count=1000))
    return [json.loads(value) for value in (shared.mget(keys) if keys else []) if value]


def snapshot() -> dict[str, Any]:
    processes = reports()
    connections: Counter[str] = Counter()
    subscribers: Counter[str] = Counter()
    for report in processes:
        connections.update(report["connections"])
        subscribers.update(report["streams"])
    return {
        "processes": [
            {"process": r["process"], "connections": r["connections"], "streams": len(r["streams"])} for r in processes
        ],
        "connections": dict(sorted(connections.items())),
        "streams": [
            {"stream": s, "subscribers": n, "presence": presence_members(s)}
            for s, n in subscribers.most_common(BUSIEST)
        ],
        "outbox_backlog": OutboxEvent.objects.count(),
    }


def presence_members(stream: str) -> int | None:
    """Members present on a presence stream (None for a stream without presence)."""
    found = resolve(stream)
    if found is None or not found[0].presence:
        return None
    try:
        return get_store().state_sync(stream).count
    except Exception as exc:  # the stream's Redis away: the page shows no count
        logger.warning("presence of %s unreadable: %s", stream, exc)
        return None


def last_events(stream: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest events the history holds for a stream, oldest first."""
    entries = async_to_sync(get_history().entries)(stream)
    return [json.loads(frame) for _, frame in entries[-limit:]]


def disconnect_user(user_id: int) -> None:
    """Close every socket (4401) and end every SSE response of this user, in every process."""
    control.disconnect_user(user_id, "disconnected by an operator")


# -- reporting ------------------------------------------------------------------------------
_last_published: dict[str, Any] | None = None


def report_once() -> bool:
    """Report this process's figures; publish the snapshot if this process holds the lock
    and it changed. Returns whether it published."""
    global _last_published
    interval = float(realtime_settings.OPS_REPORT_INTERVAL) or 2.0
    shared = _shared()
    if shared is not None:
        shared.set(_key(f"process:{PROCESS}"), json.dumps(local_report()), ex=max(5, int(interval * 5)))
        lock = _key("publisher")
        hold = int(interval * 3000)
        if not shared.set(lock, PROCESS, nx=True, px=hold):
            if shared.get(lock) != PROCESS.encode():
                return False
            shared.pexpire(lock, hold)
    current = snapshot()
    if current == _last_published:
        return False
    publish(ops.name(), OpsUpdated(action="updated", object_id="main", data=current))
    _last_published = current
    return True


def _run(interval: float) -> None:
    stop = threading.Event()
    while not stop.wait(interval):
        try:
            report_once()
        except Exception as exc:  # Redis or the database away: report next round
            logger.warning("operations report failed: %s", exc)
        finally:
            close_old_connections()


def start_reporter() -> None:
    """Start reporting once per server process (not under tests, which call report_once)."""
    interval = float(realtime_settings.OPS_REPORT_INTERVAL)
    if not interval or _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, args=(interval,), name="ops-reporter", daemon=True).start()
