"""The transactional outbox: a committed change is published even when Redis was away."""

from __future__ import annotations

import json

import pytest

from apps.realtime.history import get_history
from apps.realtime.models import OutboxEvent
from apps.realtime.publish import RELAY_AFTER, publish_on_commit
from apps.realtime.relay import relay_once
from tests import support

pytestmark = pytest.mark.django_db(transaction=True)


def test_events_committed_while_redis_is_down_are_published_when_it_returns(settings, demo: support.Demo) -> None:
    import asyncio
    import datetime
    import subprocess

    with support.own_redis() as (url, proc), support.configured_layer(settings, "redis", url, prefix="outbox"):
        stream = f"requests.unit.{demo.unit('North').pk}"
        proc.send_signal(subprocess.signal.SIGSTOP)  # type: ignore[attr-defined]
        try:
            from apps.realtime import transport

            transport.LayerTransport.send_timeout = 1.0
            publish_on_commit(stream, {"type": "request.updated", "action": "updated", "n": 1})
        finally:
            transport.LayerTransport.send_timeout = 5.0
            proc.send_signal(subprocess.signal.SIGCONT)  # type: ignore[attr-defined]
        assert OutboxEvent.objects.count() == 1, "the event waits in the outbox"
        OutboxEvent.objects.update(created_at=datetime.datetime.now(datetime.UTC) - RELAY_AFTER * 2)
        assert relay_once() == 1
        assert OutboxEvent.objects.count() == 0
        frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
        assert [f.get("n") for f in frames] == [1]


def test_an_event_left_in_the_outbox_goes_out_first_with_the_next_one_of_its_stream(
    memory_layer: str, demo: support.Demo
) -> None:
    """An older event Redis could not take (nobody holds it) is published before the newer one."""
    import asyncio

    stream = f"requests.unit.{demo.unit('North').pk}"
    OutboxEvent.objects.create(stream=stream, payload=json.dumps({"type": "request.updated", "n": 1}))
    publish_on_commit(stream, {"type": "request.updated", "action": "updated", "n": 2})
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1, 2]
    assert OutboxEvent.objects.count() == 0


def test_an_older_event_another_publisher_holds_keeps_the_newer_one_back(
    memory_layer: str, demo: support.Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another publisher holds an older event of the stream, the newer one waits for it,
    then is left to the relay, which publishes them in order."""
    import asyncio
    import datetime
    import uuid

    from apps.realtime import publish

    stream = f"requests.unit.{demo.unit('North').pk}"
    held_until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    older = OutboxEvent.objects.create(
        stream=stream,
        payload=json.dumps({"type": "request.updated", "n": 1}),
        claim=uuid.uuid4(),
        claimed_until=held_until,
    )
    monkeypatch.setattr(publish, "HELD_WAIT", 0.05)
    publish_on_commit(stream, {"type": "request.updated", "action": "updated", "n": 2})
    assert asyncio.run(get_history().entries(stream)) == [], "the newer event waits"
    OutboxEvent.objects.filter(pk=older.pk).update(claim=None, claimed_until=None)  # the holder died
    OutboxEvent.objects.update(created_at=datetime.datetime.now(datetime.UTC) - RELAY_AFTER * 2)
    assert relay_once() == 2
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1, 2]


def test_one_transaction_publishes_its_events_in_order_and_a_rolled_back_savepoint_nothing(
    memory_layer: str, demo: support.Demo
) -> None:
    import asyncio

    from django.db import transaction

    stream = f"requests.unit.{demo.unit('North').pk}"
    with transaction.atomic():
        publish_on_commit(stream, {"type": "request.updated", "n": 1})
        try:
            with transaction.atomic():
                publish_on_commit(stream, {"type": "request.updated", "n": 2})
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
        publish_on_commit(stream, {"type": "request.updated", "n": 3})
        assert asyncio.run(get_history().entries(stream)) == [], "nothing before commit"
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1, 3]
    assert OutboxEvent.objects.count() == 0


def _outbox_statements(queries: list[dict[str, str]]) -> list[str]:
    """The outbox statements other than the inserts, by their first word."""
    return [q["sql"].split()[0] for q in queries if "realtime_outboxevent" in q["sql"] and "INSERT" not in q["sql"]]


def test_a_transaction_s_events_take_one_claim_one_read_and_one_delete(memory_layer: str, demo: support.Demo) -> None:
    """The commit hook knows its rows: it claims them (and anything older left in their
    streams) with one UPDATE, checks the streams with one SELECT and deletes what it published
    with one DELETE, however many events the transaction had."""
    import asyncio

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    north, south = demo.unit("North").pk, demo.unit("South").pk
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(6):
            publish_on_commit(f"requests.unit.{(north, south)[n % 2]}", {"type": "request.updated", "n": n})
    assert _outbox_statements(queries.captured_queries) == ["UPDATE", "SELECT", "DELETE"]
    assert OutboxEvent.objects.count() == 0
    for unit, expected in ((north, [0, 2, 4]), (south, [1, 3, 5])):
        frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(f"requests.unit.{unit}"))]
        assert [f["n"] for f in frames] == expected


def test_an_older_event_left_in_a_stream_costs_one_more_read(memory_layer: str, demo: support.Demo) -> None:
    import asyncio

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stream = f"requests.unit.{demo.unit('North').pk}"
    OutboxEvent.objects.create(stream=stream, payload=json.dumps({"type": "request.updated", "n": 1}))
    with CaptureQueriesContext(connection) as queries:
        publish_on_commit(stream, {"type": "request.updated", "action": "updated", "n": 2})
    assert _outbox_statements(queries.captured_queries) == ["UPDATE", "SELECT", "SELECT", "DELETE"]
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1, 2]


async def test_a_transaction_s_events_reach_a_subscriber_in_order_on_every_transport(
    layer: str, demo: support.Demo
) -> None:
    """The events of one commit go out together (one history round trip, the streams' sends
    side by side): each stream's still arrive in order, with no gap for the hub to repair."""
    from asgiref.sync import sync_to_async
    from django.db import transaction

    from apps.realtime.testing import connect

    north = await sync_to_async(lambda: demo.unit("North").pk)()
    streams = [f"requests.unit.{north}", f"audit.unit.{north}"]
    nina = await sync_to_async(demo.user)("nina")

    def commit() -> None:
        with transaction.atomic():
            for n in range(20):
                publish_on_commit(streams[n % 2], {"type": "request.updated", "n": n})

    async with connect("/ws/", user=nina) as ws:
        for name in streams:
            await ws.send({"type": "subscribe", "stream": name})
        await ws.ready()
        await sync_to_async(commit)()
        got: dict[str, list[tuple[int, str]]] = {name: [] for name in streams}
        for _ in range(20):
            event = await ws.receive_event()
            got[event["stream"]].append((event["n"], event["id"]))
        assert await ws.nothing_more(), "no reset or replay: nothing was out of order"
    assert [n for n, _ in got[streams[0]]] == list(range(0, 20, 2))
    assert [n for n, _ in got[streams[1]]] == list(range(1, 20, 2))


def test_a_row_whose_publisher_died_after_commit_is_relayed_after_relay_after(
    memory_layer: str, demo: support.Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process committed and died before publishing: the relay leaves a fresh row to its
    publisher (it may still be on its way) and publishes it once it is RELAY_AFTER old."""
    import asyncio
    import datetime

    from django.db import transaction

    from apps.realtime import publish

    stream = f"requests.unit.{demo.unit('North').pk}"
    monkeypatch.setattr(publish, "_relay", lambda rows: None)  # dies before publishing
    with transaction.atomic():
        publish_on_commit(stream, {"type": "request.updated", "n": 1})
    monkeypatch.undo()
    assert relay_once() == 0, "fresh: the relay leaves it to its publisher"
    assert asyncio.run(get_history().entries(stream)) == []
    OutboxEvent.objects.update(created_at=datetime.datetime.now(datetime.UTC) - RELAY_AFTER * 2)
    assert relay_once() == 1
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1]


def test_rows_of_a_savepoint_between_a_transaction_s_rows_go_out_in_order_without_waiting(
    memory_layer: str, demo: support.Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A savepoint's events have their own commit hook; the outer hook, which runs first,
    publishes the savepoint's row that precedes its own instead of waiting for it as for
    another publisher's."""
    import asyncio

    from django.db import transaction

    from apps.realtime import publish

    monkeypatch.setattr(publish, "HELD_WAIT", 60.0)  # a wait would hold the test for a minute, then leave the rows
    stream = f"requests.unit.{demo.unit('North').pk}"
    with transaction.atomic():
        publish_on_commit(stream, {"type": "request.updated", "n": 1})
        with transaction.atomic():
            publish_on_commit(stream, {"type": "request.updated", "n": 2})
        publish_on_commit(stream, {"type": "request.updated", "n": 3})
    frames = [json.loads(f) for _, f in asyncio.run(get_history().entries(stream))]
    assert [f["n"] for f in frames] == [1, 2, 3]
    assert OutboxEvent.objects.count() == 0
