"""The real-time database threads keep their connections and survive losing them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.support import Demo, connect, ready

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate_backends_except(keep: set[int]) -> int:
    """Drop every other connection to this database, as a database restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> ALL(%s)", [list(keep)]
        )
        pids = [row[0] for row in cursor.fetchall()]
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return len(pids)


@pytest.fixture
def main_thread_pid(transactional_db: None) -> Iterator[int]:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server that can drop connections: the Postgres pass runs it")
    yield backend_pid()


async def test_handshakes_go_on_after_the_database_dropped_the_kept_connections(
    main_thread_pid: int, memory_layer: str, demo: Demo
) -> None:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("alice")
    first, accepted, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    assert accepted
    await ready(first)  # the handshake's user and permission were read on the real-time threads
    await first.disconnect()
    keep = {main_thread_pid, await sync_to_async(backend_pid)()}
    assert await sync_to_async(terminate_backends_except)(keep) >= 1, "no kept connection to drop"
    for _ in range(8):  # more handshakes than threads: every thread meets its dead connection
        again, accepted, code = await connect(f"/ws/requests/{north.pk}/?token={token}")
        assert accepted and code is None
        await ready(again)
        await again.disconnect()
