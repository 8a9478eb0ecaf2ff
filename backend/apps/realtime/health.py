"""Readiness checks shared by `/readyz`, `/ws/health/` and `manage.py test_websocket`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from .redis_config import realtime_targets


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
    if settings.CHANNEL_LAYER == "memory":
        return {"ok": True, "backend": "memory"}
    start = time.perf_counter()
    for target in realtime_targets():
        client = target.async_client(retry=None)  # a failing check answers now; the next one retries
        try:
            await asyncio.wait_for(client.ping(), 3)
        except Exception as exc:
            error = f"{target.describe()}: {str(exc)[:200] or type(exc).__name__}"
            return {"ok": False, "backend": settings.CHANNEL_LAYER, "error": error}
        finally:
            await client.aclose()
    return {"ok": True, "backend": settings.CHANNEL_LAYER, "ms": round((time.perf_counter() - start) * 1000, 1)}


async def readiness() -> tuple[bool, dict[str, Any]]:
    database, layer = await asyncio.gather(check_database(), check_channel_layer())
    checks = {"database": database, "channel_layer": layer}
    return all(c["ok"] for c in checks.values()), checks
