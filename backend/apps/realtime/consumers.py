"""
The one WebSocket consumer. It serves every per-stream route (`/ws/requests/<unit_id>/`),
the multiplexed `/ws/` and `/ws/health/`.

A refused socket is accepted and then closed with the protocol's code, so the client can
read it (Daphne turns a close before accept into an HTTP 403). Events reach the socket from
the process's hub (hub.py), never through a per-socket channel-layer channel; every frame
leaves through one bounded outbound queue, drained by a writer task. Messages from the
client are dispatched through a fixed table: the client cannot pick a handler by `type`
(`ping`, `subscribe`, `unsubscribe`, `auth.refresh`, `presence.get`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings
from django.contrib.auth import get_user_model

from . import ids, metrics
from .auth import AuthError, AuthInfo, bearer_subprotocol, query_params, validate_access_token
from .db import realtime_db
from .health import readiness
from .hub import get_hub
from .limits import TokenBucket, limit_inbound_at_protocol, per_user
from .streams import Route, Stream, StreamParamError, resolve
from .subscriptions import StreamSubscriber
from .writer import SocketWriter

logger = logging.getLogger(__name__)

# close codes (docs/protocol.md section 3)
BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, TOO_SLOW, TOO_MANY, TOO_BIG = (
    4400,
    4401,
    4403,
    4404,
    4408,
    4429,
    1009,
)


def active_user(user_id: int) -> Any:
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


class RealtimeConsumer(StreamSubscriber, AsyncConsumer):
    """
    `route`: a declared route (its path values arrive as URL kwargs); None with
    `health=False` is the multiplexed `/ws/`. Subscribing, replay and resume come from
    StreamSubscriber (subscriptions.py), shared with the SSE view.
    """

    def __init__(self, route: Route | None = None, health: bool = False) -> None:
        self.ws_route, self.health = route, health
        cfg = settings.REALTIME
        self._init_subscriptions()
        self.writer: SocketWriter | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._closing = False
        self._counted_user: int | None = None
        self._inbound = TokenBucket(cfg["INBOUND_RATE"], cfg["INBOUND_BURST"])
        # Under Daphne the bucket is applied as frames arrive (limits.py); elsewhere here.
        self._inbound_counted_here = True
        self.route = "health" if health else (route.path.split("/", 1)[0] if route else "multiplexed")

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

    # -- connect -----------------------------------------------------------------------
    async def on_connect(self) -> None:
        self.user: Any = self.scope.get("user")
        self.auth: AuthInfo = self.scope.get("auth") or AuthInfo()
        subprotocol = "bearer" if bearer_subprotocol(self.scope) is not None else None
        await self._accept(subprotocol)
        if self.health:
            return
        if self.user is None or not self.user.is_authenticated:
            return self.close(UNAUTHENTICATED, self.auth.error or "authentication required")
        if self._user_over_cap():
            return self.close(TOO_MANY, "too many connections for this user")
        self._schedule_expiry(self.auth.expires_at)
        self.hub = await get_hub()
        self.hub.add_connection(self.user.pk, self)
        if self.ws_route is None:
            return
        try:
            targets = self.ws_route.targets(self.user, self.scope["url_route"]["kwargs"])
            last_event_id = query_params(self.scope).get("last_event_id") or None
            if last_event_id:
                ids.parse(last_event_id)
        except (StreamParamError, ids.InvalidEventId) as exc:
            return self.close(BAD_REQUEST, str(exc))
        for stream, params in targets:
            if not await self._allowed(stream, params):
                return self.close(FORBIDDEN, "not allowed on this stream")
        # An id belongs to one stream: resume applies to single-stream routes (else use /ws/).
        resume_from = last_event_id if len(targets) == 1 else None
        for stream, params in targets:
            await self.subscribe(stream, stream.name(**params), resume_from)

    def _user_over_cap(self) -> bool:
        if not per_user.take(self.user.pk):
            return True
        self._counted_user = self.user.pk
        return False

    async def _allowed(self, stream: Stream, params: dict[str, Any]) -> bool:
        return bool(await realtime_db(stream.can_read)(self.user, **params))

    async def revalidate(self) -> None:
        """The user's access changed (control message): close 4401 if the account is no
        longer active; on a stream route that is no longer readable close 4403; on the
        multiplexed socket drop such streams with an error frame."""
        if self._closing:
            return
        self.user = await realtime_db(active_user)(self.user.pk)
        if self.user is None:
            return self.close(UNAUTHENTICATED, "account deactivated")
        for name, stream in list(self.subscriptions.items()):
            if await self._allowed(stream, stream.match(name) or {}):
                continue
            if self.ws_route is not None:
                return self.close(FORBIDDEN, "access to this stream was withdrawn")
            await self.unsubscribe(name)
            self._error(name, FORBIDDEN, "access to this stream was withdrawn")

    def disconnect(self, reason: str) -> None:
        """Told to end (an operator's disconnect, hub.Connection): close 4401."""
        self.close(UNAUTHENTICATED, reason)

    # -- outbound --------------------------------------------------------------------------
    async def _accept(self, subprotocol: str | None = None) -> None:
        await self.base_send({"type": "websocket.accept", "subprotocol": subprotocol})
        self.writer = SocketWriter(self.base_send, int(settings.REALTIME["OUTBOUND_QUEUE"]), self._too_slow)
        self.writer.start()
        self._inbound_counted_here = not limit_inbound_at_protocol(self.base_send, self._inbound)
        metrics.connections.inc(self.route)

    def _too_slow(self) -> None:
        self.close(TOO_SLOW, "outbound queue full: the client does not read")

    def _deliver(self, event_id: str, frame: str) -> None:
        if not self._closing and self.writer is not None:
            self.writer.write(frame)

    def _send(self, message: dict[str, Any]) -> None:
        self._deliver("", dumps(message))

    def _deliver_frame(self, frame: str) -> None:
        self._deliver("", frame)

    def close(self, code: int, reason: str = "") -> None:
        """Close with `code` once; frames already queued are sent first, unless the
        queue is what overflowed."""
        if self._closing:
            return
        self._closing = True
        metrics.closes.inc(str(code))
        logger.info("closing socket on %s: %s %s", self.route, code, reason)
        writer = self.writer
        if writer is not None:
            task = asyncio.get_running_loop().create_task(writer.close(code, drop_pending=code == TOO_SLOW))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _schedule_expiry(self, expires_at: float | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if expires_at is not None:
            delay = max(0.0, expires_at - time.time())
            self._expiry = asyncio.get_running_loop().call_later(delay, self.close, UNAUTHENTICATED, "token expired")

    # -- inbound ---------------------------------------------------------------------------
    async def on_receive(self, message: dict[str, Any]) -> None:
        if self._closing:
            return
        text = message.get("text")
        if text is None:
            return self.close(BAD_REQUEST, "binary frames are not accepted")
        limit = settings.REALTIME["MAX_FRAME"]
        if len(text) * 4 > limit and len(text.encode()) > limit:  # UTF-8: at most 4 bytes a character
            return self.close(TOO_BIG, "frame too large")
        if self._inbound_counted_here and not self._inbound.take():
            return self.close(TOO_MANY, "too many messages")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            return self.close(BAD_REQUEST, "frame is not JSON (or nested too deeply)")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return self.close(BAD_REQUEST, "frame must be a JSON object with a string type")
        handler = self.handlers.get(body["type"])
        if handler is None:
            return self._send({"type": "error", "code": BAD_REQUEST, "detail": f"unknown type {body['type'][:40]!r}"})
        await handler(self, body)

    async def on_ping(self, body: dict[str, Any]) -> None:
        if not self.health:
            return self._send({"type": "pong"})
        ok, checks = await readiness()
        self._send({"type": "pong", "status": "ok" if ok else "degraded", "checks": checks})

    async def on_subscribe(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if self.ws_route is not None or self.health or self.hub is None:
            return self._error(name, BAD_REQUEST, "subscribe is for the multiplexed /ws/ route")
        if not isinstance(name, str) or (found := resolve(name)) is None:
            return self._error(name, NOT_FOUND, "no such stream")
        stream, params = found
        name = stream.name(**params)  # canonical, also for SSE-style aliases
        last_event_id = body.get("last_event_id")
        if last_event_id is not None:
            try:
                ids.parse(str(last_event_id))
            except ids.InvalidEventId as exc:
                return self._error(name, BAD_REQUEST, str(exc))
        if len(self.subscriptions) >= settings.REALTIME["MAX_STREAMS_PER_SOCKET"]:
            return self._error(name, TOO_MANY, "too many streams on this socket")
        if not await self._allowed(stream, params):
            return self._error(name, FORBIDDEN, "not allowed on this stream")
        self._send({"type": "subscribed", "stream": name})
        await self.subscribe(stream, name, str(last_event_id) if last_event_id else None)

    async def on_unsubscribe(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if isinstance(name, str) and name in self.subscriptions and self.ws_route is None:
            await self.unsubscribe(name)
            self._send({"type": "unsubscribed", "stream": name})
        else:
            self._error(name, NOT_FOUND, "not subscribed")

    async def on_presence_get(self, body: dict[str, Any]) -> None:
        name = body.get("stream")
        if not isinstance(name, str) or name not in self.subscriptions:
            return self._error(name, NOT_FOUND, "not subscribed")
        if not self.subscriptions[name].presence:
            return self._error(name, NOT_FOUND, "this stream has no presence")
        await self.send_presence_state(name)

    async def on_auth_refresh(self, body: dict[str, Any]) -> None:
        token = body.get("token")
        if self.user is None or not self.user.is_authenticated or not isinstance(token, str):
            return self._error(None, UNAUTHENTICATED, "auth.refresh needs a token")
        try:
            user, expires_at = await realtime_db(validate_access_token)(token)
        except AuthError as exc:
            return self._error(None, UNAUTHENTICATED, str(exc))
        if user.pk != self.user.pk:
            return self._error(None, UNAUTHENTICATED, "token belongs to another user")
        self._schedule_expiry(expires_at)
        self._send({"type": "auth.refreshed", "expires_at": int(expires_at)})

    def _error(self, stream: Any, code: int, detail: str) -> None:
        message: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if isinstance(stream, str):
            message["stream"] = stream[:200]
        self._send(message)

    handlers: dict[str, Callable[[RealtimeConsumer, dict[str, Any]], Awaitable[None]]] = {
        "ping": on_ping,
        "subscribe": on_subscribe,
        "unsubscribe": on_unsubscribe,
        "auth.refresh": on_auth_refresh,
        "presence.get": on_presence_get,
    }

    # -- disconnect ------------------------------------------------------------------------
    async def on_disconnect(self) -> None:
        self._closing = True
        if self._expiry is not None:
            self._expiry.cancel()
        if self.writer is not None:
            self.writer.stop()
        if self.hub is not None and self._counted_user is not None:
            self.hub.remove_connection(self._counted_user, self)
        if self._counted_user is not None:
            per_user.give_back(self._counted_user)
        metrics.connections.dec(self.route)
        for name in list(self.subscriptions):
            await self.unsubscribe(name)


class NotFoundConsumer(RealtimeConsumer):
    """Any other path: accept, then close 4404."""

    async def on_connect(self) -> None:
        self.route = "not_found"
        await self._accept()
        self.close(NOT_FOUND, "no such route")
