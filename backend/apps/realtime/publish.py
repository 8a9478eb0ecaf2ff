"""
The one way to publish an event.

    publish_on_commit(streams.unit_requests.name(unit_id=1), RequestUpdated(...))

`publish_on_commit` records the event in the outbox inside the current transaction and
publishes it after commit: a rolled-back change publishes nothing, and a committed change is
published even if Redis was away at commit time (the relay retries). `publish` publishes at
once, for events that belong to no database change (progress ticks, broadcasts of state).
`publish_ephemeral` sends a message that is no event (`comment.typing`): no id, not in the
history, never replayed, outside the hubs' gap logic, and not sent back to the socket whose
message is being handled (its user's other sockets do get it).

A process that serves no sockets in the embedded mode (a management command run beside
`make run`) cannot reach the server's in-process channel layer: after `hand_off_to_server()`
it leaves its events in the outbox, in the database both share, and the server's relay
publishes them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import ids, metrics
from .events import Event
from .history import get_history
from .models import OutboxEvent
from .streams import resolve
from .transport import Message, get_transport

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(seconds=30)
# The relay leaves fresh rows to the commit-time path that wrote them.
RELAY_AFTER = timedelta(seconds=2)
# How long a publisher waits for another one to finish an older event of the same stream.
HELD_WAIT = 1.0
# While it waits it looks again when a publisher of this process finishes, and at least this
# often (the holder may be another process). It used to look every 5 ms: a query each time, 200
# a second per waiting publisher, which under a burst of requests on one stream took the GIL
# from the event loop that delivers the events.
HELD_RECHECK = 0.02
_finished = threading.Condition()  # notified when a publisher of this process finishes its rows
_handed_off = False
# The socket whose client message is being handled (messages.py sets it): an ephemeral
# message it publishes skips that socket. Handlers on the database threads see it too:
# asgiref copies the context into them.
sender: contextvars.ContextVar[str | None] = contextvars.ContextVar("realtime_message_sender", default=None)
# Called with (stream, id, payload) after each event is published (testing.capture_events).
observers: list[Callable[[str, str, str], None]] = []


def encode(stream: str, event: Event | dict[str, Any]) -> str:
    """The payload of an event: its envelope as compact JSON, without the id."""
    envelope = event.envelope() if isinstance(event, Event) else dict(event)
    if resolve(stream) is None:
        raise ValueError(f"{stream!r} is not a declared stream")
    if not isinstance(envelope.get("type"), str):
        raise ValueError("an event needs a string 'type'")
    envelope["stream"] = stream
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))


def publish_payload(stream: str, payload: str) -> str:
    (result,) = publish_payloads([(stream, payload)])
    if isinstance(result, Exception):
        raise result
    return result


def publish_payloads(items: list[tuple[str, str]]) -> list[str | Exception]:
    """Publish `(stream, payload)` pairs in order: one history round trip per Redis and one
    hand-off to the transport for all of them. For each, its event id or the error that
    stopped it; after an item fails, the later items of its stream are not published."""
    results: list[str | Exception] = []
    failed: dict[str, Exception] = {}
    sent: list[tuple[int, Message]] = []
    for n, ((stream, payload), appended) in enumerate(zip(items, get_history().append_many(items), strict=True)):
        if isinstance(appended, Exception):
            failed.setdefault(stream, appended)
        if stream in failed or isinstance(appended, Exception):
            results.append(failed[stream])
            continue
        event_id, prev = appended
        results.append(event_id)
        frame = ids.with_id(event_id, payload)
        sent.append((n, {"stream": stream, "id": event_id, "prev": prev, "frame": frame, "ts": time.time()}))
    errors = get_transport().send_many([message for _, message in sent]) if sent else []
    for (n, message), error in zip(sent, errors, strict=True):
        if error is not None:
            results[n] = error
            continue
        metrics.events_published.inc(message["stream"].split(".", 1)[0])
        for observer in observers:
            observer(message["stream"], message["id"], items[n][1])
    return results


def publish(stream: str, event: Event | dict[str, Any]) -> str:
    """Publish now; returns the event id. Raises if history or transport is unreachable."""
    return publish_payload(stream, encode(stream, event))


async def publish_ephemeral(stream: str, message: dict[str, Any]) -> None:
    """Send `message` (a dict with a string `type`) to the subscribers of `stream` now, in
    every process, as `{"type", "stream", ...the rest}`, without an id or a history entry."""
    if resolve(stream) is None:
        raise ValueError(f"{stream!r} is not a declared stream")
    if not isinstance(message.get("type"), str):
        raise ValueError("a message needs a string 'type'")
    body = {"type": message["type"], "stream": stream, **{k: v for k, v in message.items() if k != "type"}}
    frame = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))
    await get_transport().send_async({"stream": stream, "frame": frame, "origin": sender.get()})


def publish_on_commit(stream: str, event: Event | dict[str, Any]) -> None:
    """Publish after the current transaction commits (at once outside a transaction)."""
    row = OutboxEvent.objects.create(stream=stream, payload=encode(stream, event))
    if _handed_off:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _relay([row])
        return
    _batch(connection).rows.append(row)


class _Relay:
    """One commit hook relays every event of a transaction (one claim, one publish, one delete)."""

    def __init__(self) -> None:
        self.rows: list[OutboxEvent] = []

    def __call__(self) -> None:
        _relay(self.rows)


def _batch(connection: Any) -> _Relay:
    # Reuse this transaction's hook when it was registered at the same savepoint depth:
    # Django drops hooks of a savepoint that rolls back, so a hook from an inner savepoint
    # must not collect the outer block's events. (A row that rolled back is harmless: the
    # claim does not find it.)
    savepoints = set(connection.savepoint_ids)
    for sids, func, _robust in connection.run_on_commit:
        if isinstance(func, _Relay) and sids == savepoints:
            return func
    hook = _Relay()
    transaction.on_commit(hook)
    return hook


def _claim(rows: list[OutboxEvent]) -> list[OutboxEvent]:
    """Claim these rows for publishing, with the older rows of their streams that nobody is
    publishing (left by a failure), so that within a stream events go out in commit order.
    An older row another publisher holds is being published right now: wait for it briefly;
    if it is still there, leave this stream's rows to the relay, which keeps the order.

    `rows` carry their stream and payload (the commit hook has them from the insert), so the
    usual case, nothing older in the streams, is one UPDATE and one narrow SELECT."""
    if not rows:
        return []
    token = uuid.uuid4()
    now = timezone.now()
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    scope = OutboxEvent.objects.filter(stream__in={row.stream for row in rows}, pk__lte=max(row.pk for row in rows))
    scope.filter(claimable).update(claim=token, claimed_until=now + CLAIM_FOR)
    present = list(scope.values_list("pk", "stream", "claim"))
    known = {row.pk: row for row in rows}
    mine = {pk for pk, _, claim in present if claim == token}
    left_by_others = mine - known.keys()
    claimed = sorted(
        [known[pk] for pk in mine & known.keys()]
        + (list(OutboxEvent.objects.filter(pk__in=left_by_others)) if left_by_others else []),
        key=lambda row: row.pk,
    )
    first: dict[str, int] = {}
    for row in claimed:
        first.setdefault(row.stream, row.pk)
    held = [(stream, pk) for pk, stream, claim in present if claim != token]
    deadline = time.monotonic() + HELD_WAIT
    while True:
        waiting = {stream for stream, pk in held if stream in first and pk < first[stream]}
        if not waiting or time.monotonic() > deadline:
            break
        with _finished:
            _finished.wait(HELD_RECHECK)
        held = list(scope.filter(stream__in=waiting).exclude(claim=token).values_list("stream", "pk"))
    if waiting:
        OutboxEvent.objects.filter(claim=token, stream__in=waiting).update(claim=None, claimed_until=None)
        claimed = [row for row in claimed if row.stream not in waiting]
    return claimed


def _delete(pks: list[int]) -> None:
    """One DELETE statement (`QuerySet.delete()` wraps its statement in a transaction: three
    round trips instead of one, on the path of every event)."""
    if not pks:
        return
    connection = connections[OutboxEvent.objects.db]
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    column = connection.ops.quote_name(OutboxEvent._meta.pk.attname)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(pks))})", pks)  # noqa: S608


def _publish_rows(rows: list[OutboxEvent]) -> int:
    """Publish in order; a row that fails holds back the later rows of its stream only (with
    several Redis servers, one that is down must not stop the streams of the others)."""
    results: list[str | Exception | None] = [None] * len(rows)
    try:
        results[:] = publish_payloads([(row.stream, row.payload) for row in rows])
    finally:
        done: list[int] = []
        left: list[int] = []
        errors: dict[str, Exception] = {}
        for row, result in zip(rows, results, strict=True):
            (done if isinstance(result, str) else left).append(row.pk)
            if isinstance(result, Exception):
                errors.setdefault(row.stream, result)
        for stream, error in errors.items():
            logger.warning("publishing %s from the outbox failed (%s); the relay will retry", stream, error)
        if left:
            OutboxEvent.objects.filter(pk__in=left).update(claim=None, claimed_until=None, attempts=F("attempts") + 1)
            metrics.outbox_retries.inc()
        _delete(done)
        with _finished:
            _finished.notify_all()
    return len(done)


def _relay(rows: list[OutboxEvent]) -> None:
    try:
        _publish_rows(_claim(rows))
    except Exception:
        logger.exception("outbox relay failed; the background relay will retry")


def relay(pks: list[int]) -> None:
    """Publish these outbox rows now. Never raises."""
    _relay(list(OutboxEvent.objects.filter(pk__in=pks)))


def hand_off_to_server() -> None:
    """From now on leave this process's events to the serving process's outbox relay (the
    embedded mode's management commands; the relay publishes a row `RELAY_AFTER` after its
    commit)."""
    global _handed_off
    _handed_off = True


def relay_pending(limit: int = 500) -> int:
    """Publish rows the commit-time path could not; returns how many were published."""
    old = Q(created_at__lt=timezone.now() - RELAY_AFTER)
    rows = list(OutboxEvent.objects.filter(old).order_by("pk")[:limit])
    return _publish_rows(_claim(rows)) if rows else 0
