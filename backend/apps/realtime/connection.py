"""
What a connection may do, for WebSocket sockets (consumers.py) and Server-Sent Events
responses (sse.py) alike: the close codes, resolving and authorizing a subscription,
re-checking a user whose access changed, and the user's connection slots.

The close codes are defined here only, each with the short reason a close frame carries
when the caller gives none; `manage.py export_event_types` writes them into the TypeScript
client (`events.generated.ts`). SSE has no close codes: a refusal there is the HTTP status
of the same family (`CloseCode.http_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from django.contrib.auth import get_user_model

from . import ids
from .db import realtime_db
from .limits import per_user
from .streams import Stream, resolve


class CloseCode(IntEnum):
    """The close codes of the protocol (docs/protocol.md), each with its default reason."""

    reason: str
    meaning: str

    def __new__(cls, code: int, reason: str, meaning: str) -> CloseCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.reason = reason
        member.meaning = meaning
        return member

    BAD_REQUEST = 4400, "bad request", "bad request: malformed path value, unreadable frame"
    UNAUTHENTICATED = 4401, "not authenticated", "missing, invalid or expired token or ticket; token expired"
    FORBIDDEN = 4403, "not allowed on this stream", "authenticated but not allowed on this stream"
    NOT_FOUND = 4404, "no such stream or route", "no such stream or route"
    TOO_SLOW = 4408, "too slow", "the client does not read and its outbound queue is over its bound"
    TOO_MANY = 4429, "too many messages or connections", "too many messages or connections"
    TOO_BIG = 1009, "frame too large", "frame too large (over 64 KiB)"
    SERVICE_RESTART = 1012, "server restart", "the server is restarting: reconnect at once"

    @property
    def http_status(self) -> int:
        """The HTTP status of an SSE refusal for the same reason (4403 -> 403)."""
        return self - 4000 if 4400 <= self < 4500 else 400


_BY_CODE: dict[int, CloseCode] = {int(c): c for c in CloseCode}

# Close frames carry at most 123 bytes of reason (RFC 6455: 125 with the code).
MAX_REASON = 123


def close_reason(code: int, reason: str = "") -> str:
    """The reason a close frame with `code` carries: `reason`, or the code's own, cut to fit."""
    if not reason:
        known = _BY_CODE.get(code)
        if known is None:
            return ""
        reason = known.reason
    return reason.encode()[:MAX_REASON].decode(errors="ignore")


class Refused(Exception):
    """A request of a connection refused with `code` (a close code, or an error frame's)."""

    def __init__(self, code: CloseCode, detail: str, stream: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.stream = code, detail, stream


# -- subscriptions -----------------------------------------------------------------------
def resolve_stream(name: object) -> tuple[Stream, str, dict[str, Any]]:
    """The declared stream of `name`, its canonical name (`progress-<id>` is an SSE alias of
    `progress.job.<id>`) and parameters; raises Refused (4400 not a name, 4404 unknown)."""
    if not isinstance(name, str):
        raise Refused(CloseCode.BAD_REQUEST, "stream must be a stream name (a string)")
    found = resolve(name)
    if found is None:
        raise Refused(CloseCode.NOT_FOUND, "no such stream", name)
    stream, params = found
    return stream, stream.name(**params), params


async def can_read(user: Any, stream: Stream, params: Mapping[str, Any]) -> bool:
    """The stream's read permission, on the real-time database threads."""
    return bool(await realtime_db(stream.can_read)(user, **params))


async def authorize(user: Any, stream: Stream, name: str, params: Mapping[str, Any]) -> None:
    """Raises Refused (4403) unless `user` may read the stream."""
    if not await can_read(user, stream, params):
        raise Refused(CloseCode.FORBIDDEN, "not allowed on this stream", name)


async def subscription(user: Any, name: object) -> tuple[Stream, str]:
    """Resolve and authorize one stream name: (stream, canonical name), or Refused."""
    stream, canonical, params = resolve_stream(name)
    await authorize(user, stream, canonical, params)
    return stream, canonical


def event_id(value: object) -> str | None:
    """A client's `last_event_id` (None when absent); raises Refused (4400) when malformed."""
    if value is None or value == "":
        return None
    try:
        ids.parse(str(value))
    except ids.InvalidEventId as exc:
        raise Refused(CloseCode.BAD_REQUEST, str(exc)) from exc
    return str(value)


# -- access changes while connected --------------------------------------------------------
def active_user(user_id: int) -> Any:
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


async def recheck(user_id: int, subscriptions: Mapping[str, Stream]) -> tuple[Any, list[str]]:
    """After a user's access changed: the user again (None when the account is no longer
    active) and the names of the subscribed streams they may no longer read."""
    # On the real-time database threads, not the thread-sensitive executor: the caller may
    # run in the context of the thread that published the control message (embedded mode),
    # whose thread-sensitive executor is busy.
    user = await realtime_db(active_user)(user_id)
    if user is None:
        return None, []
    withdrawn = [
        name
        for name, stream in list(subscriptions.items())
        if not await can_read(user, stream, stream.match(name) or {})
    ]
    return user, withdrawn


# -- the user's connection slots -------------------------------------------------------------
def take_slot(user_id: int) -> None:
    """One of the user's connection slots (sockets and SSE responses count together), or
    Refused (4429) when they hold them all."""
    if not per_user.take(user_id):
        raise Refused(CloseCode.TOO_MANY, "too many connections for this user")


def give_back_slot(user_id: int) -> None:
    per_user.give_back(user_id)
