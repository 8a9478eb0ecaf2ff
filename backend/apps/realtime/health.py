"""
Readiness checks shared by `/readyz`, `/ws/health/` and `manage.py test_websocket`, and the
probe stream and event the command publishes to itself (the plumbing checks itself without
any domain app).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from django.db import connection

from .conf import realtime_settings
from .events import Event, register_event
from .redis_config import realtime_targets
from .streams import Stream, register


def nobody(user: Any, **params: Any) -> bool:
    return False


# `manage.py test_websocket` publishes here and reads it back through its own hub.
health_probe = register(Stream("health.probe.{probe_id:uuid}", can_read=nobody, events=("health.probe",)))


@register_event
@dataclass(kw_only=True)
class HealthProbe(Event):
    type: ClassVar[str] = "health.probe"
    entity: ClassVar[str] = "probe"
    internal: ClassVar[bool] = True  # no client receives it: left out of docs and client types
    description: ClassVar[str] = (
        "Sent by `manage.py test_websocket` to a stream of its own to check the publish path "
        "end to end; no client can subscribe to it."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "ping",
        "object_id": "5d0c1f0e-8f0b-4a8e-9c1e-3b2a1d4c5e6f",
        "data": {"host": "web-1", "pid": 4242},
    }


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def check_database() -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await database_sync_to_async(_check_database)()
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}


async def check_channel_layer() -> dict[str, Any]:
    """Every Redis of the layer answers (always true for the in-process layer)."""
    if realtime_settings.channel_layer == "memory":
        return {"ok": True, "backend": "memory"}
    start = time.perf_counter()
    for target in realtime_targets():
        client = target.async_client(retry=None)  # a failing check answers now; the next one retries
        try:
            await asyncio.wait_for(client.ping(), 3)
        except Exception as exc:
            error = f"{target.describe()}: {str(exc)[:200] or type(exc).__name__}"
            return {"ok": False, "backend": realtime_settings.channel_layer, "error": error}
        finally:
            await client.aclose()
    return {
        "ok": True,
        "backend": realtime_settings.channel_layer,
        "ms": round((time.perf_counter() - start) * 1000, 1),
    }


async def readiness() -> tuple[bool, dict[str, Any]]:
    database, layer = await asyncio.gather(check_database(), check_channel_layer())
    checks = {"database": database, "channel_layer": layer}
    return all(c["ok"] for c in checks.values()), checks
