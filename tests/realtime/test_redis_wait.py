"""
REALTIME_REDIS_WAIT_REPLICAS: a history append waits for that many replicas (Redis WAIT).
When they confirm, the event is on the replica as soon as the append returns; when fewer
confirm in time, the publisher fails and the outbox keeps the event for the relay.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from apps.realtime import history
from apps.realtime.models import OutboxEvent
from apps.realtime.publish import publish_on_commit, relay
from apps.realtime.redis_config import parse
from tests import support


@pytest.fixture
def master_and_replica(tmp_path: Path) -> Iterator[tuple[str, redis.Redis]]:
    """A throwaway master and one replica of it; yields (master URL, replica client). The
    replica runs in tmp_path: it writes the master's snapshot there when it syncs."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is not installed: `apt-get install redis-server`"
    with support.own_redis() as (url, _):
        port = support.free_port()
        master_port = url.rsplit(":", 1)[1].split("/")[0]
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--replicaof", "127.0.0.1", master_port]
        proc = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, cwd=tmp_path)
        try:
            replica = redis.Redis(port=port, socket_timeout=2)
            support.wait_until(
                lambda: _synced(replica), "the replica synced with its master", explain=lambda: str(_info(replica))
            )
            yield url, replica
        finally:
            proc.kill()
            proc.wait()


def _info(client: redis.Redis) -> dict[str, Any]:
    with contextlib.suppress(redis.RedisError):
        return dict(client.info("replication"))
    return {}


def _synced(client: redis.Redis) -> bool:
    return _info(client).get("master_link_status") == "up"


def test_an_append_returns_once_the_replica_has_the_event(master_and_replica: tuple[str, redis.Redis]) -> None:
    url, replica = master_and_replica
    store = history.RedisHistory([parse(url)], f"w{uuid.uuid4().hex[:8]}", 100, wait_replicas=1)
    for n in range(20):
        event_id, _ = store.append("requests.unit.1", f'{{"n":{n}}}')
        # Read at once on the replica: WAIT returned only after it had the entry.
        assert replica.xrevrange(store.key("requests.unit.1"), count=1)[0][0].decode() == event_id


def test_fewer_replicas_than_asked_fails_the_append_after_the_timeout(
    master_and_replica: tuple[str, redis.Redis],
) -> None:
    url, _ = master_and_replica
    store = history.RedisHistory([parse(url)], f"w{uuid.uuid4().hex[:8]}", 100, wait_replicas=2)
    started = time.monotonic()
    with pytest.raises(history.ReplicationTimeout, match="1 of 2 replicas confirmed"):
        store.append("requests.unit.1", '{"n":1}')
    assert time.monotonic() - started >= store.wait_timeout_ms / 1000 * 0.9


@pytest.mark.django_db(transaction=True)
def test_an_event_fewer_replicas_confirmed_stays_in_the_outbox_until_they_do(
    master_and_replica: tuple[str, redis.Redis], settings: Any
) -> None:
    url, replica = master_and_replica
    stream = "requests.unit.1"
    event = {"type": "request.updated", "request_id": 1, "action": "created", "data": {}}
    with support.configured_layer(settings, "redis", url, f"w{uuid.uuid4().hex[:8]}"):
        settings.REALTIME = {**settings.REALTIME, "REDIS_WAIT_REPLICAS": 2}
        publish_on_commit(stream, event)
        row = OutboxEvent.objects.get(stream=stream)
        assert row.attempts == 1, "the publisher failed and left the row to the relay"

        settings.REALTIME = {**settings.REALTIME, "REDIS_WAIT_REPLICAS": 1}  # a second replica joined, say
        relay([row.pk])
        assert not OutboxEvent.objects.filter(pk=row.pk).exists()
        key = history.get_history().key(stream)  # type: ignore[attr-defined]
    # At least once: the first append is in the history too, the relay's copy after it.
    assert [f[b"p"].count(b'"request_id":1') for _, f in replica.xrange(key)] == [1, 1]
