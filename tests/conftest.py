"""
Shared fixtures. Redis-backed tests use $REDIS_URL, else a Redis answering on
127.0.0.1:6379, else a throwaway redis-server on a free port; with none, they fail saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from tests import support

# The real-time testing kit's fixtures (realtime_events), as an adopting project loads them.
pytest_plugins = ["apps.realtime.testing"]


@pytest.fixture(autouse=True)
async def _close_hub() -> Any:
    """Each test runs on its own event loop: stop that loop's hub before the loop closes."""
    yield
    from apps.dashboard.services import coalescer
    from apps.realtime.hub import close_hub

    await close_hub()
    coalescer.reset()  # no trailing dashboard publish into the next test


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with support.redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "redis", "pubsub"])
def layer(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Run the test once per transport: in process, RedisChannelLayer, RedisPubSubChannelLayer."""
    mode = request.param
    url = request.getfixturevalue("redis_url") if mode != "memory" else ""
    with support.configured_layer(settings, mode, url, prefix=f"t{uuid.uuid4().hex[:8]}"):
        yield mode


@pytest.fixture
def memory_layer(settings: Any) -> Iterator[str]:
    with support.configured_layer(settings, "memory", "", prefix="mem"):
        yield "memory"


@pytest.fixture
def demo(transactional_db: None) -> support.Demo:
    call_command("seed_demo", force=True, stdout=support.NullWriter())
    return support.Demo()


@pytest.fixture(scope="session", autouse=True)
def _realtime_db_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Threads that keep database connections (the real-time database threads, and asgiref's
    thread-sensitive one that async tests call the ORM on): close them before the test
    database is dropped."""
    yield
    import asyncio

    from asgiref.sync import sync_to_async
    from django.db import connections

    from apps.realtime.db import close_connections

    with django_db_blocker.unblock():
        close_connections()
        asyncio.run(sync_to_async(connections.close_all)())
