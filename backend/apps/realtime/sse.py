"""
Server-Sent Events: the streams of the WebSocket routes over plain HTTP, for browsers'
`new EventSource(url)` and for curl.

    GET /api/events/?channel=<stream name>[&channel=...]    (`progress-<job_id>` is accepted)
    GET /api/sales/sse/invoices/                             (the `invoices` stream)

Same streams, envelope, permissions and history as the sockets. An SSE response is a
subscriber of the process's hub exactly like a socket: subscribing, replay and resume are
StreamSubscriber's (subscriptions.py). What differs is the framing and the refusals:

- each event is `id: <event id>` + `data: <envelope JSON>` + a blank line, with no `event:`
  line, so `EventSource.onmessage` sees every event; `stream.resumed` and `stream.reset`
  come as `data:` lines without an id (they must not move the client's Last-Event-ID), and so
  do the presence messages of a presence stream (the response counts as a connection);
- a comment line (`: keep-alive`) at least every `SSE["KEEPALIVE"]` seconds;
- SSE has no close codes, so a refused request is an HTTP error with a JSON `detail`
  (401 not authenticated, 403 not allowed, 404 no such stream, 400 bad request, 429 the
  user holds too many connections: SSE responses and sockets count together), sent before
  the stream starts;
- resume: the `Last-Event-ID` header (sent by EventSource when it reconnects) or
  `?lastEventId=`. An id belongs to one stream, so with several channels it cannot be
  resumed exactly: each stream then gets `stream.reset` (refetch over REST);
- a client that does not read (its bounded queue overflows) gets the response ended; it
  reconnects with its Last-Event-ID and resumes from the history, missing nothing;
- the response ends when the credential expires (the same rule as sockets), and when the
  user's access changes (a `revalidate` control message, control.py) so that the account is
  no longer active or a stream is no longer readable; the client's reconnect then gets the
  401 or 403 that says why.

Authentication, in this order: `?ticket=` (one use: EventSource's automatic reconnect
needs a token or the session), `?token=`, `Authorization: Bearer <access JWT>`, the
session cookie.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse

from . import metrics
from .auth import AuthError, consume_ticket, validate_access_token
from .conf import realtime_settings
from .connection import CloseCode, Refused, event_id, give_back_slot, recheck, subscription, take_slot
from .db import realtime_db
from .hub import get_hub
from .streams import Stream
from .subscriptions import StreamSubscriber
from .writer import ChunkWriter, chunk_writer

logger = logging.getLogger(__name__)

ROUTE = "sse"  # the `route` label of the connection metrics
# The ASGI send of the request, put in the scope by `with_send` (asgi.py): under Daphne the
# response, once started, is written directly (ChunkWriter) instead of through Django.
SEND = "syncline.send"
# Chunks joined into one write when a burst is queued.
MAX_BATCH = 100
_END = ""  # queued by `_end`: the response ends after what is already queued


def _refusal(status: int, detail: str, stream: str | None = None) -> JsonResponse:
    body = {"detail": detail} if stream is None else {"detail": detail, "stream": stream[:200]}
    return JsonResponse(body, status=status)


def _refused(refused: Refused) -> JsonResponse:
    return _refusal(refused.code.http_status, refused.detail, refused.stream)


async def authenticate(request: HttpRequest) -> tuple[Any, float | None, str]:
    """(user or None, when the credential expires or None, why it was refused)."""
    ticket, token = request.GET.get("ticket"), request.GET.get("token")
    header = request.headers.get("Authorization", "")
    if not token and header[:7].lower() == "bearer ":
        token = header[7:].strip()
    try:
        if ticket:
            user, expires_at = await realtime_db(consume_ticket)(ticket)
            return user, expires_at, ""
        if token:
            user, exp = await realtime_db(validate_access_token)(token)
            return user, exp, ""
    except AuthError as exc:
        return None, None, str(exc)
    user = await request.auser()
    return (user, None, "") if user.is_authenticated else (None, None, "authentication required")


def with_send(app: Any) -> Any:
    """Wrap Django's ASGI app so that a view can reach the ASGI send (`SEND` in the scope)."""

    async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app({**scope, SEND: send}, receive, send)

    return http


class SseConnection(StreamSubscriber):
    """
    One SSE response of `user`: a hub subscriber. Until the response has started, and under
    servers other than Daphne, chunks wait in a bounded queue that the response body reads
    (Django writes them). Under Daphne, once the headers are out, the `ChunkWriter` writes
    each event straight to the connection as it arrives, encoded once for all responses.
    """

    def __init__(self, user: Any, expires_at: float | None) -> None:
        self._init_subscriptions()
        self.user = user
        self.queue: asyncio.Queue[str] = asyncio.Queue(realtime_settings.OUTBOUND_QUEUE)
        self.writer: ChunkWriter | None = None
        self.expires_at = expires_at
        self.ending = False
        # The user's connection slot, taken by `serve`: given back when the body ends, or,
        # when Django drops the response before its body starts (the client went away),
        # when this object is collected.
        self.give_back = weakref.finalize(self, give_back_slot, user.pk)

    # -- the transport's outputs (StreamSubscriber) --------------------------------------
    def _deliver(self, event_id: str, frame: str) -> None:
        if self.writer is not None:
            if not self.ending:
                self.writer.write_event(event_id, frame)
            return
        self._put(f"id: {event_id}\ndata: {frame}\n\n")

    def _send_frame(self, frame: str) -> None:
        self._put(f"data: {frame}\n\n")

    def _send(self, message: dict[str, Any]) -> None:
        self._send_frame(json.dumps(message, separators=(",", ":")))

    def _put(self, chunk: str) -> None:
        if self.ending:
            return
        if self.writer is not None:
            self.writer.write_text(chunk)
            return
        try:
            self.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            # What is queued is dropped: the client resumes after the last id it received.
            while not self.queue.empty():
                self.queue.get_nowait()
            self._too_slow()

    def _too_slow(self) -> None:
        metrics.closes.inc("sse_too_slow")
        self._end(": too slow: reconnect with Last-Event-ID to resume\n\n")

    def _end(self, last_words: str) -> None:
        """End the response after what is queued (what does not fit is dropped: the client resumes)."""
        if self.writer is not None:
            if not self.ending:
                self.writer.write_text(last_words)
            self.ending = True
            self.queue.put_nowait(_END)  # wakes the body, which ends the response
            return
        self.ending = True
        while self.queue.maxsize - self.queue.qsize() < 2 and not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(last_words)
        self.queue.put_nowait(_END)

    def _write_directly(self, send: Any) -> None:
        """Under Daphne, from now on write chunks to the connection (what is queued first)."""
        writer = chunk_writer(send, self.queue.maxsize, self._too_slow)
        if writer is None:
            return
        self.writer = writer
        while not self.queue.empty():
            chunk = self.queue.get_nowait()
            if chunk == _END:
                self.queue.put_nowait(_END)
                break
            writer.write_text(chunk)

    async def revalidate(self) -> None:
        """The user's access changed (hub.Connection): end the response if the account is no
        longer active or one of its streams is no longer readable."""
        if self.ending:
            return
        user, withdrawn = await recheck(self.user.pk, self.subscriptions)
        if user is None:
            return self._end(": account deactivated\n\n")
        if withdrawn:
            return self._end(f": access to {withdrawn[0]} was withdrawn\n\n")

    def disconnect(self, reason: str) -> None:
        """Told to end (an operator's disconnect, hub.Connection): end the response."""
        if not self.ending:
            self._end(f": {reason}\n\n")

    # -- the response body ---------------------------------------------------------------
    async def body(
        self, targets: list[tuple[Stream, str]], last_event_id: str | None, send: Any = None
    ) -> AsyncIterator[str]:
        hub = self.hub = await get_hub()
        hub.add_connection(self.user.pk, self)
        metrics.connections.inc(ROUTE)
        try:
            exact = len(targets) == 1
            for stream, name in targets:
                if last_event_id and not exact:
                    metrics.resets.inc()
                    self._send({"type": "stream.reset", "stream": name})
                await self.subscribe(stream, name, last_event_id if exact else None)
            # The first write sends the headers (Daphne holds them until then) and tells the
            # client that it is subscribed.
            yield ": connected\n\n"
            if send is not None and not self.ending:
                self._write_directly(send)
            async for chunk in self._chunks():
                if self.writer is not None:
                    if chunk:  # an empty HTTP chunk would end the response
                        self.writer.write_text(chunk)
                else:
                    yield chunk
        finally:  # also on client disconnect: Django cancels the response task
            self.give_back()
            if self.writer is not None:
                self.writer.stop()
            hub.remove_connection(self.user.pk, self)
            for name in list(self.subscriptions):
                await self.unsubscribe(name)
            metrics.connections.dec(ROUTE)

    async def _chunks(self) -> AsyncIterator[str]:
        interval = float(realtime_settings.SSE_KEEPALIVE)
        next_keepalive = time.monotonic() + interval
        while True:
            if self.expires_at is not None and time.time() >= self.expires_at:
                yield ": token expired\n\n"
                return
            wait = next_keepalive - time.monotonic()
            if self.expires_at is not None:
                wait = min(wait, self.expires_at - time.time())
            chunk = await self._next(wait)
            if chunk is None:
                if time.monotonic() >= next_keepalive:
                    next_keepalive = time.monotonic() + interval
                    yield ": keep-alive\n\n"
                continue
            batch = [chunk]
            while chunk != _END and not self.queue.empty() and len(batch) < MAX_BATCH:
                chunk = self.queue.get_nowait()
                batch.append(chunk)
            yield "".join(batch)
            if chunk == _END:
                return

    async def _next(self, wait: float) -> str | None:
        """The next queued chunk, or None when `wait` seconds pass first."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                return await self.queue.get()
        except TimeoutError:
            return None


async def serve(request: HttpRequest, channels: list[str]) -> HttpResponseBase:
    """Authenticate, resolve and authorize every channel, then stream them."""
    if request.method != "GET":
        return _refusal(405, "use GET")
    user, expires_at, error = await authenticate(request)
    if user is None:
        return _refusal(CloseCode.UNAUTHENTICATED.http_status, error)
    if not channels:
        return _refusal(400, "name at least one stream: ?channel=<name>")
    if len(channels) > realtime_settings.MAX_STREAMS_PER_SOCKET:
        return _refusal(400, "too many channels")
    targets: dict[str, Stream] = {}
    try:
        last_event_id = event_id(request.headers.get("Last-Event-ID") or request.GET.get("lastEventId"))
        for channel in channels:
            stream, name = await subscription(user, channel)  # canonical, also for `progress-<id>`
            targets[name] = stream
    except Refused as refused:
        return _refused(refused)
    try:
        take_slot(user.pk)
    except Refused as refused:
        metrics.closes.inc("sse_too_many")
        return _refused(refused)
    connection = SseConnection(user, expires_at)
    send = getattr(request, "scope", {}).get(SEND)
    response = StreamingHttpResponse(
        connection.body([(stream, name) for name, stream in targets.items()], last_event_id, send),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def events(request: HttpRequest) -> HttpResponseBase:
    """`GET /api/events/?channel=<name>[&channel=<name>...]`."""
    return await serve(request, request.GET.getlist("channel"))


def stream_view(*channels: str) -> Callable[[HttpRequest], Coroutine[Any, Any, HttpResponseBase]]:
    """A view streaming fixed channels: `path("sse/invoices/", stream_view("invoices"))`."""

    async def view(request: HttpRequest) -> HttpResponseBase:
        return await serve(request, list(channels))

    return view
