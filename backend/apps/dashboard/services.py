"""
Publishing the dashboard. `notify_dashboard()` is the one way: call it whenever something
the KPIs count may have changed (services do; signals.py covers the models whose services
live in other apps). It is cheap and safe to call often, from views, services, signals and
background tasks:

- it waits for the current transaction to commit (a rolled-back change publishes nothing);
- publishes are coalesced to at most one per `INTERVAL` second per process, and in Redis
  mode across processes too (a short Redis key, `SET NX PX`); the last change is always
  published, at the latest about `INTERVAL` after it;
- the KPIs are computed when they are published, and not published again when they equal
  the last ones published (a job's progress ticks change nothing the dashboard shows).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.realtime.conf import realtime_settings
from apps.realtime.history import get_history
from apps.realtime.publish import publish
from apps.realtime.redis_config import RedisTarget, parse

from .coalesce import Coalescer
from .events import DashboardUpdated
from .selectors import dashboard_kpis
from .streams import dashboard

INTERVAL = 1.0


def notify_dashboard() -> None:
    """The KPIs may have changed: publish them soon, after the current transaction commits."""
    transaction.on_commit(coalescer.mark)


def dashboard_publish() -> bool:
    """Compute the KPIs and publish them unless they equal the last published; returns
    whether it published. Raises when publishing fails (the next change tries again)."""
    kpis = dashboard_kpis()
    digest = hashlib.sha256(json.dumps(kpis, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()
    gate = current_gate()
    if gate.swap_digest(digest) == digest:
        return False
    try:
        publish(dashboard.name(), DashboardUpdated(action="updated", object_id="main", data=kpis))
    except Exception:
        gate.forget_digest()
        raise
    return True


class Gate(Protocol):
    def wait_ms(self) -> int:
        """0 when this process may publish now, else the milliseconds to wait."""
        ...

    def swap_digest(self, digest: str) -> str | None:
        """Record the digest of the KPIs about to be published; return the previous one."""
        ...

    def forget_digest(self) -> None: ...


class LocalGate:
    """Embedded mode: this process is the only publisher; the coalescer alone spaces publishes."""

    def __init__(self) -> None:
        self.digest: str | None = None

    def wait_ms(self) -> int:
        return 0

    def swap_digest(self, digest: str) -> str | None:
        previous, self.digest = self.digest, digest
        return previous

    def forget_digest(self) -> None:
        self.digest = None


class RedisGate:
    """Redis mode: every process publishes the dashboard; one short-lived key spaces their
    publishes (the first to set it publishes, the others wait until it expires) and one
    remembers the digest of the last KPIs published."""

    def __init__(self, target: RedisTarget, prefix: str) -> None:
        self.client = target.sync_client()
        self.slot_key = f"{prefix}:dashboard:slot"
        self.digest_key = f"{prefix}:dashboard:digest"

    def wait_ms(self) -> int:
        if self.client.set(self.slot_key, "1", nx=True, px=int(INTERVAL * 1000)):
            return 0
        return max(int(self.client.pttl(self.slot_key)), 1)  # -2: expired meanwhile, try again at once

    def swap_digest(self, digest: str) -> str | None:
        previous = self.client.set(self.digest_key, digest, get=True, ex=24 * 3600)
        return previous.decode() if isinstance(previous, bytes) else None

    def forget_digest(self) -> None:
        self.client.delete(self.digest_key)


# The digest describes what one history last received, so a gate belongs to the configured
# history (one per process; tests configure a fresh one per test).
_gates: weakref.WeakKeyDictionary[Any, Gate] = weakref.WeakKeyDictionary()


def current_gate() -> Gate:
    history = get_history()
    gate = _gates.get(history)
    if gate is None:
        redis_mode = realtime_settings.mode == "redis"
        gate = (
            RedisGate(parse(realtime_settings.redis_url), realtime_settings.redis_prefix) if redis_mode else LocalGate()
        )
        _gates[history] = gate
    return gate


coalescer = Coalescer(dashboard_publish, INTERVAL, wait_ms=lambda: current_gate().wait_ms())
