"""
Client messages: what a socket may ask of the server besides its control messages.

A client sends `{"type": "message", "ref": "<1-64 chars>", "stream": S, "event": E, "data": {...}}`
to a stream it is subscribed to, and gets exactly one `{"type": "reply", "ref": ...}` back.
Each (stream, event) has one handler, declared in its app's `messages.py` (discovered at
start-up like `events.py` and `streams.py`):

    @on_message(streams.request_item, "comment.create", serializer=CommentIn,
                permission_classes=[IsAuthenticated], rate="30/m")
    def comment_create(user, data, request_id):
        ...
        return RequestCommentSerializer(comment).data

A handler gets the socket's user, the validated data (the serializer's `validated_data`,
or the raw object without a serializer) and the stream's parameters as keyword arguments,
and returns the reply's data (None: `{}`). A plain function runs on the real-time database
threads (db.py), with its permissions and serializer; an `async def` runs on the event loop
after its permissions and serializer ran on those threads. Errors become reply codes as
DRF views turn them into statuses: `ValidationError` -> `invalid` (with `fields`),
`PermissionDenied` or a permission class saying no -> `forbidden`, `NotFound`/`Http404`/
`ObjectDoesNotExist` -> `not_found`, any other DRF `APIException` (a 4xx of its own, a 409
say) -> `invalid` with its detail; anything else -> `server_error`, logged with its
traceback. The connection side (ref, subscription, rates) is `Dispatcher`'s.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.serializers import BaseSerializer

from .conf import realtime_settings
from .db import realtime_db
from .limits import TokenBucket
from .publish import sender
from .streams import Stream

logger = logging.getLogger(__name__)

# Reply error codes (docs/protocol.md, "Client messages").
INVALID, FORBIDDEN, NOT_FOUND = "invalid", "forbidden", "not_found"
NOT_SUBSCRIBED, UNKNOWN_EVENT, RATE_LIMITED, SERVER_ERROR = (
    "not_subscribed",
    "unknown_event",
    "rate_limited",
    "server_error",
)
REPLY_CODES = (INVALID, FORBIDDEN, NOT_FOUND, NOT_SUBSCRIBED, UNKNOWN_EVENT, RATE_LIMITED, SERVER_ERROR)
MAX_REF = 64

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[float, float]:
    """DRF's rate notation, `"5/s"`, `"30/m"`, `"100/h"`: (tokens a second, burst)."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in _PERIODS:
        raise ValueError(f"rate {rate!r} must look like '5/s', '30/m' or '100/h'")
    return int(count) / _PERIODS[period], float(count)


@dataclass(frozen=True)
class MessageHandler:
    stream: Stream
    event: str
    func: Callable[..., Any]
    serializer: type[BaseSerializer[Any]] | None = None
    permission_classes: tuple[type[BasePermission], ...] = ()
    rate: tuple[float, float] | None = None
    is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.func))


_handlers: dict[tuple[str, str], MessageHandler] = {}


def on_message(
    stream: Stream,
    event: str,
    *,
    serializer: type[BaseSerializer[Any]] | None = None,
    permission_classes: Sequence[type[BasePermission]] = (),
    rate: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the handler of `event` messages on `stream` (see the module docstring).
    `rate`: at most this many of these messages per socket (DRF notation, `"5/s"`), past
    which the socket gets `rate_limited` replies."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        key = (stream.pattern, event)
        if key in _handlers:
            raise ValueError(f"message {event!r} on {stream.pattern!r} has two handlers")
        _handlers[key] = MessageHandler(
            stream, event, func, serializer, tuple(permission_classes), parse_rate(rate) if rate else None
        )
        return func

    return register


def handler_for(stream: Stream, event: str) -> MessageHandler | None:
    return _handlers.get((stream.pattern, event))


def all_handlers() -> tuple[MessageHandler, ...]:
    return tuple(_handlers.values())


class MessageError(Exception):
    """A message answered with an error reply."""

    def __init__(self, code: str, detail: str, fields: Any = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.fields = code, detail, fields

    def reply(self, ref: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields is not None:
            error["fields"] = self.fields
        return {"type": "reply", "ref": ref, "status": "error", "error": error}


@dataclass(frozen=True)
class MessageRequest:
    """What a DRF permission class sees as `request` (it reads `request.user`)."""

    user: Any
    stream: str
    event: str
    data: Any
    params: dict[str, Any]


def _prepare(handler: MessageHandler, request: MessageRequest) -> Any:
    """Permissions, then the serializer: the validated data. Runs on a database thread."""
    for permission_class in handler.permission_classes:
        permission = permission_class()
        if not permission.has_permission(request, handler):  # type: ignore[arg-type]  # a socket, not an HttpRequest
            raise exceptions.PermissionDenied(getattr(permission, "message", None))
    if handler.serializer is None:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["data must be a JSON object"]})
        return request.data
    serializer = handler.serializer(data=request.data, context={"request": request, "user": request.user})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _run_sync(handler: MessageHandler, request: MessageRequest) -> Any:
    data = _prepare(handler, request)
    return handler.func(user=request.user, data=data, **request.params)


def _as_error(exc: Exception) -> MessageError | None:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return MessageError(INVALID, "invalid data", fields)
    if isinstance(exc, exceptions.PermissionDenied | exceptions.NotAuthenticated | DjangoPermissionDenied):
        return MessageError(FORBIDDEN, str(getattr(exc, "detail", "")) or "you may not do this")
    if isinstance(exc, exceptions.NotFound | Http404 | ObjectDoesNotExist):
        return MessageError(NOT_FOUND, str(getattr(exc, "detail", "")) or "not found")
    if isinstance(exc, exceptions.APIException) and 400 <= exc.status_code < 500:
        return MessageError(INVALID, str(exc.detail))
    return None


async def handle(handler: MessageHandler, request: MessageRequest) -> Any:
    """Run `handler`: its reply data, or MessageError."""
    try:
        if handler.is_async:
            data = await realtime_db(_prepare)(handler, request)
            result = await handler.func(user=request.user, data=data, **request.params)
        else:
            result = await realtime_db(_run_sync)(handler, request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error = _as_error(exc)
        if error is None:
            logger.exception("message %r on %s failed", handler.event, request.stream)
            raise MessageError(SERVER_ERROR, "the server failed to handle this message") from exc
        raise error from exc
    return {} if result is None else result


class Dispatcher:
    """The message side of one socket: the `ref`, the subscription, the rates, the reply."""

    def __init__(self) -> None:
        rate = float(realtime_settings.MESSAGE_RATE)
        self.bucket = TokenBucket(rate, rate)
        self.buckets: dict[tuple[str, str], TokenBucket] = {}

    @staticmethod
    def usable_ref(ref: object) -> bool:
        return isinstance(ref, str) and 1 <= len(ref) <= MAX_REF

    async def reply(
        self, body: dict[str, Any], user: Any, subscriptions: dict[str, Stream], connection_id: str
    ) -> dict[str, Any]:
        """The reply to a message whose `ref` is usable."""
        ref: str = body["ref"]
        try:
            return {
                "type": "reply",
                "ref": ref,
                "status": "ok",
                "data": await self._run(body, user, subscriptions, connection_id),
            }
        except MessageError as error:
            return error.reply(ref)

    async def _run(self, body: dict[str, Any], user: Any, subscriptions: dict[str, Stream], connection_id: str) -> Any:
        if not self.bucket.take():
            raise MessageError(RATE_LIMITED, f"at most {self.bucket.rate:g} messages a second")
        name, event = body.get("stream"), body.get("event")
        stream = subscriptions.get(name) if isinstance(name, str) else None
        if stream is None or not isinstance(name, str):
            raise MessageError(NOT_SUBSCRIBED, "subscribe to the stream first")
        handler = handler_for(stream, event) if isinstance(event, str) else None
        if handler is None:
            raise MessageError(UNKNOWN_EVENT, f"no event {str(event)[:40]!r} on this stream")
        if handler.rate is not None:
            key = (stream.pattern, handler.event)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(*handler.rate)
            if not bucket.take():
                raise MessageError(RATE_LIMITED, f"too many {handler.event!r} messages")
        request = MessageRequest(user, name, handler.event, body.get("data", {}), stream.match(name) or {})
        token = sender.set(connection_id)
        try:
            return await handle(handler, request)
        finally:
            sender.reset(token)
