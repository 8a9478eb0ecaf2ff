"""
The WebSocket consumers: `RealtimeConsumer` serves every per-stream route
(`/ws/requests/<unit_id>/`) and the multiplexed `/ws/`; `HealthConsumer` serves
`/ws/health/`; `NotFoundConsumer` every other path.

A refused socket is accepted and then closed with the protocol's code and a short reason
(connection.py), so the client can read it (Daphne turns a close before accept into an HTTP
403). What a connection may do (resolve and authorize a stream, re-check a user, the
user's slots) is connection.py's, shared with the SSE view. Events reach the socket from
the process's hub (hub.py), never through a per-socket channel-layer channel; every frame
leaves through the socket's bounded writer (writer.py). Messages from the client are
dispatched through a fixed table per consumer: the client cannot pick a handler by `type`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer

from . import metrics
from .auth import AuthError, AuthInfo, bearer_subprotocol, query_params, validate_access_token
from .conf import realtime_settings
from .connection import (
    CloseCode,
    Refused,
    authorize,
    event_id,
    give_back_slot,
    recheck,
    resolve_stream,
    take_slot,
)
from .db import realtime_db
from .health import readiness
from .hub import get_hub
from .limits import TokenBucket
from .messages import SERVER_ERROR, Dispatcher, MessageError
from .streams import Route, StreamParamError
from .subscriptions import StreamSubscriber
from .writer import SocketWriter, socket_writer

logger = logging.getLogger(__name__)


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


class SocketConsumer(AsyncConsumer):
    """
    What every socket does: accept, write through a bounded writer, read frames (size,
    rate, JSON object with a string `type`), dispatch them through `handlers`, close once
    with a code and a reason. Subclasses set `route` (the metrics label) and `handlers`,
    and extend `on_connect` and `on_disconnect`.
    """

    route = "socket"
    handlers: ClassVar[dict[str, Handler]] = {}

    def __init__(self) -> None:
        self.writer: SocketWriter | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        self._inbound = TokenBucket(realtime_settings.INBOUND_RATE, realtime_settings.INBOUND_BURST)
        # Under Daphne the bucket is applied as frames arrive (the writer's count_inbound);
        # elsewhere here.
        self._inbound_counted_here = True

    # -- ASGI plumbing -----------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # No per-socket channel-layer channel: the hub delivers events.
        self.scope, self.base_send = scope, send
        # One source of messages (the socket): a plain loop, not Channels' await_many_dispatch,
        # which keeps a task and a wait per socket to choose between sources.
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Handlers that touch the database use realtime_db (db.py), which manages its
        # connections itself; no per-message close_old_connections thread hop here.
        kind = message["type"]
        if kind == "websocket.receive":
            await self.on_receive(message)
        elif kind == "websocket.connect":
            await self.on_connect()
        elif kind == "websocket.disconnect":
            await self.on_disconnect()
            raise StopConsumer

    async def on_connect(self) -> None:
        await self._accept()

    async def on_disconnect(self) -> None:
        self._closing = True
        if self.writer is not None:
            self.writer.stop()
            metrics.connections.dec(self.route)

    # -- outbound --------------------------------------------------------------------------
    async def _accept(self, subprotocol: str | None = None) -> None:
        await self.base_send({"type": "websocket.accept", "subprotocol": subprotocol})
        self.writer = socket_writer(self.base_send, realtime_settings.OUTBOUND_QUEUE, self._too_slow)
        self.writer.start()
        self._inbound_counted_here = not self.writer.count_inbound(self._inbound)
        metrics.connections.inc(self.route)

    def _too_slow(self) -> None:
        self.close(CloseCode.TOO_SLOW, "outbound queue full: the client does not read")

    def _send_frame(self, frame: str) -> None:
        if not self._closing and self.writer is not None:
            self.writer.write(frame)

    def _send(self, message: dict[str, Any]) -> None:
        self._send_frame(dumps(message))

    def _error(self, stream: Any, code: int, detail: str) -> None:
        message: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if isinstance(stream, str):
            message["stream"] = stream[:200]
        self._send(message)

    def close(self, code: int, reason: str = "") -> None:
        """Close with `code` and `reason` (the code's own when empty) once; frames already
        queued are sent first, unless the queue is what overflowed."""
        if self._closing:
            return
        self._closing = True
        metrics.closes.inc(str(code))
        logger.info("closing socket on %s: %s %s", self.route, code, reason)
        writer = self.writer
        if writer is not None:
            drop = code == CloseCode.TOO_SLOW
            task = asyncio.get_running_loop().create_task(writer.close(code, reason, drop_pending=drop))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # -- inbound ---------------------------------------------------------------------------
    async def on_receive(self, message: dict[str, Any]) -> None:
        if self._closing:
            return
        text = message.get("text")
        if text is None:
            return self.close(CloseCode.BAD_REQUEST, "binary frames are not accepted")
        limit = realtime_settings.MAX_FRAME
        if len(text) * 4 > limit and len(text.encode()) > limit:  # UTF-8: at most 4 bytes a character
            return self.close(CloseCode.TOO_BIG, "frame too large")
        if self._inbound_counted_here and not self._inbound.take():
            return self.close(CloseCode.TOO_MANY, "too many messages")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            return self.close(CloseCode.BAD_REQUEST, "frame is not JSON (or nested too deeply)")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return self.close(CloseCode.BAD_REQUEST, "frame must be a JSON object with a string type")
        handler = self.handlers.get(body["type"])
        if handler is None:
            return self._error(None, CloseCode.BAD_REQUEST, f"unknown type {body['type'][:40]!r}")
        await handler(self, body)

    async def on_ping(self, body: dict[str, Any]) -> None:
        self._send({"type": "pong"})


class HealthConsumer(SocketConsumer):
    """`/ws/health/`: anyone; `ping` answers with the readiness checks."""

    route = "health"

    async def on_health_ping(self, body: dict[str, Any]) -> None:
        ok, checks = await readiness()
        self._send({"type": "pong", "status": "ok" if ok else "degraded", "checks": checks})

    handlers: ClassVar[dict[str, Handler]] = {"ping": on_health_ping}


class NotFoundConsumer(SocketConsumer):
    """Any other path: accept, then close 4404."""

    route = "not_found"

    async def on_connect(self) -> None:
        await self._accept()
        self.close(CloseCode.NOT_FOUND, "no such route")


class RealtimeConsumer(SocketConsumer, StreamSubscriber):
    """
    A signed-in user's socket on streams. `route`: a declared route (its path values arrive
    as URL kwargs), or None for the multiplexed `/ws/`. Subscribing, replay and resume come
    from StreamSubscriber (subscriptions.py), shared with the SSE view.
    """

    def __init__(self, route: Route | None = None) -> None:
        super().__init__()
        self._init_subscriptions()
        self.ws_route = route
        self._expiry: asyncio.TimerHandle | None = None
        self._counted_user: int | None = None
        self._messages: Dispatcher | None = None  # made on the first client message
        self.route = route.path.split("/", 1)[0] if route else "multiplexed"

    # -- connect -----------------------------------------------------------------------
    async def on_connect(self) -> None:
        self.user: Any = self.scope.get("user")
        self.auth: AuthInfo = self.scope.get("auth") or AuthInfo()
        subprotocol = "bearer" if bearer_subprotocol(self.scope) is not None else None
        await self._accept(subprotocol)
        if self.user is None or not self.user.is_authenticated:
            return self.close(CloseCode.UNAUTHENTICATED, self.auth.error or "authentication required")
        try:
            take_slot(self.user.pk)
        except Refused as refused:
            return self.close(refused.code, refused.detail)
        self._counted_user = self.user.pk
        self._schedule_expiry(self.auth.expires_at)
        self.hub = await get_hub()
        self.hub.add_connection(self.user.pk, self)
        if self.ws_route is None:
            return
        try:
            targets = self.ws_route.targets(self.user, self.scope["url_route"]["kwargs"])
            last_event_id = event_id(query_params(self.scope).get("last_event_id"))
            for stream, params in targets:
                await authorize(self.user, stream, stream.name(**params), params)
        except StreamParamError as exc:
            return self.close(CloseCode.BAD_REQUEST, str(exc))
        except Refused as refused:
            return self.close(refused.code, refused.detail)
        # An id belongs to one stream: resume applies to single-stream routes (else use /ws/).
        resume_from = last_event_id if len(targets) == 1 else None
        for stream, params in targets:
            await self.subscribe(stream, stream.name(**params), resume_from)

    async def revalidate(self) -> None:
        """The user's access changed (control message): close 4401 if the account is no
        longer active; on a stream route that is no longer readable close 4403; on the
        multiplexed socket drop such streams with an error frame."""
        if self._closing:
            return
        self.user, withdrawn = await recheck(self.user.pk, self.subscriptions)
        if self.user is None:
            return self.close(CloseCode.UNAUTHENTICATED, "account deactivated")
        for name in withdrawn:
            if self.ws_route is not None:
                return self.close(CloseCode.FORBIDDEN, "access to this stream was withdrawn")
            await self.unsubscribe(name)
            self._error(name, CloseCode.FORBIDDEN, "access to this stream was withdrawn")

    def disconnect(self, reason: str) -> None:
        """Told to end (an operator's disconnect, hub.Connection): close 4401."""
        self.close(CloseCode.UNAUTHENTICATED, reason)

    def _schedule_expiry(self, expires_at: float | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if expires_at is not None:
            delay = max(0.0, expires_at - time.time())
            self._expiry = asyncio.get_running_loop().call_later(
                delay, self.close, CloseCode.UNAUTHENTICATED, "token expired"
            )

    # -- the hub's outputs (StreamSubscriber) ------------------------------------------------
    def _deliver(self, event_id: str, frame: str) -> None:
        self._send_frame(frame)

    # -- inbound ---------------------------------------------------------------------------
    async def on_subscribe(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if self.ws_route is not None or self.hub is None:
            return self._error(name, CloseCode.BAD_REQUEST, "subscribe is for the multiplexed /ws/ route")
        try:
            stream, name, params = resolve_stream(name)
            last_event_id = event_id(body.get("last_event_id"))
            if len(self.subscriptions) >= realtime_settings.MAX_STREAMS_PER_SOCKET:
                raise Refused(CloseCode.TOO_MANY, "too many streams on this socket")
            await authorize(self.user, stream, name, params)
        except Refused as refused:
            return self._error(refused.stream or name, refused.code, refused.detail)
        # Acknowledged once live: an event committed after `subscribed` reaches this socket.
        acknowledge = {"type": "subscribed", "stream": name}
        await self.subscribe(stream, name, last_event_id, joined=lambda: self._send(acknowledge))

    async def on_unsubscribe(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if isinstance(name, str) and name in self.subscriptions and self.ws_route is None:
            await self.unsubscribe(name)
            self._send({"type": "unsubscribed", "stream": name})
        else:
            self._error(name, CloseCode.NOT_FOUND, "not subscribed")

    async def on_auth_refresh(self, body: dict[str, Any]) -> None:
        token = body.get("token")
        if self.user is None or not self.user.is_authenticated or not isinstance(token, str):
            return self._error(None, CloseCode.UNAUTHENTICATED, "auth.refresh needs a token")
        try:
            user, expires_at = await realtime_db(validate_access_token)(token)
        except AuthError as exc:
            return self._error(None, CloseCode.UNAUTHENTICATED, str(exc))
        if user.pk != self.user.pk:
            return self._error(None, CloseCode.UNAUTHENTICATED, "token belongs to another user")
        self._schedule_expiry(expires_at)
        self._send({"type": "auth.refreshed", "expires_at": int(expires_at)})

    async def on_presence_get(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if not isinstance(name, str) or name not in self.subscriptions:
            return self._error(name, CloseCode.NOT_FOUND, "not subscribed")
        if not self.subscriptions[name].presence:
            return self._error(name, CloseCode.NOT_FOUND, "this stream has no presence")
        await self.send_presence_state(name)

    async def on_message(self, body: dict[str, Any]) -> None:
        """A client message (messages.py): exactly one reply with its `ref`."""
        ref = body.get("ref")
        if not Dispatcher.usable_ref(ref):
            return self.close(CloseCode.BAD_REQUEST, "a message needs a ref of 1 to 64 characters")
        if self._messages is None:
            self._messages = Dispatcher()
        reply = await self._messages.reply(body, self.user, self.subscriptions, self.connection_id)
        try:
            frame = dumps(reply)
        except (TypeError, ValueError):
            logger.exception("the reply to %r is not JSON", body.get("event"))
            frame = dumps(MessageError(SERVER_ERROR, "the server failed to handle this message").reply(str(ref)))
        self._send_frame(frame)

    handlers: ClassVar[dict[str, Handler]] = {
        "ping": SocketConsumer.on_ping,
        "subscribe": on_subscribe,
        "unsubscribe": on_unsubscribe,
        "auth.refresh": on_auth_refresh,
        "presence.get": on_presence_get,
        "message": on_message,
    }

    # -- disconnect ------------------------------------------------------------------------
    async def on_disconnect(self) -> None:
        await super().on_disconnect()
        if self._expiry is not None:
            self._expiry.cancel()
        if self.hub is not None and self._counted_user is not None:
            self.hub.remove_connection(self._counted_user, self)
        if self._counted_user is not None:
            give_back_slot(self._counted_user)
        for name in list(self.subscriptions):
            await self.unsubscribe(name)
