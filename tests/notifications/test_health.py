"""Health: /ws/health/ and /readyz report the channel layer's Redis going away."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import AsyncClient

from tests.support import configured_layer, connect, own_redis, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def ping(ws: Any) -> dict[str, Any]:
    await ws.send_json_to({"type": "ping"})
    return await receive(ws)


async def test_health_is_degraded_and_readyz_503_when_the_layers_redis_is_down(settings: Any) -> None:
    with own_redis() as (url, redis_process), configured_layer(settings, "redis", url, prefix="health"):
        ws, accepted, _ = await connect("/ws/health/")
        assert accepted
        healthy = await ping(ws)
        assert (healthy["type"], healthy["status"]) == ("pong", "ok")
        assert healthy["checks"]["channel_layer"]["ok"] and healthy["checks"]["channel_layer"]["backend"] == "redis"
        assert (await AsyncClient().get("/readyz")).status_code == 200

        redis_process.kill()
        redis_process.wait()

        degraded = await ping(ws)
        assert (degraded["type"], degraded["status"]) == ("pong", "degraded")
        assert degraded["checks"]["channel_layer"]["ok"] is False and degraded["checks"]["channel_layer"]["error"]
        assert degraded["checks"]["database"]["ok"] is True
        ready = await AsyncClient().get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "degraded" and ready.json()["checks"]["channel_layer"]["ok"] is False
        assert (await AsyncClient().get("/healthz")).status_code == 200, "liveness does not depend on Redis"
        await ws.disconnect()
