"""
Socket authentication. `RealtimeAuthMiddleware` resolves the user of a WebSocket or SSE
connection, in this order: `?ticket=` (one-time, at most 30 s), `?token=` (access JWT),
subprotocols `["bearer", <access JWT>]`, then the session cookie. It records in the scope:

- `scope["user"]`: the user, or AnonymousUser;
- `scope["auth"]`: an `AuthInfo` (how, when the credential expires, why it failed).

It never refuses a connection itself: the consumer accepts and then closes with 4401,
so the client can read the code. Like every Channels middleware it copies the scope and
keeps no per-connection state on itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from .conf import realtime_settings
from .db import realtime_db

TICKET_PREFIX = "realtime:ticket:"


@dataclass(frozen=True)
class AuthInfo:
    method: str = ""  # ticket | token | bearer | session | "" (anonymous)
    expires_at: float | None = None  # epoch seconds; None: no expiry (session)
    error: str = ""  # why a presented credential was refused


class AuthError(Exception):
    pass


def query_params(scope: dict[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin1")
    return {key: values[-1] for key, values in parse_qs(raw).items()}


def validate_access_token(raw: str) -> tuple[Any, float]:
    """The active user and expiry of an access JWT; raises AuthError. Runs in a thread."""
    try:
        # Checks signature, algorithm, exp and token_type=access. (The stubs type the
        # argument as a Token; simplejwt takes the encoded string too.)
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    user_id = token.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise AuthError("invalid token: no such active user")
    return user, float(token["exp"])


# -- one-time tickets ------------------------------------------------------------------
def issue_ticket(user: Any, expires_at: float | None) -> tuple[str, int]:
    """A one-time ticket for `user`; the socket it opens expires with the credential
    (`expires_at`) that asked for it. Returns (ticket, seconds it stays valid)."""
    ttl = int(realtime_settings.TICKET_TTL)
    ticket = secrets.token_urlsafe(32)
    cache.set(TICKET_PREFIX + ticket, {"user_id": user.pk, "expires_at": expires_at}, ttl)
    return ticket, ttl


def consume_ticket(ticket: str) -> tuple[Any, float | None]:
    """The user of a ticket, which can be used once; raises AuthError. Runs in a thread."""
    key = TICKET_PREFIX + ticket
    value = cache.get(key)
    # delete() reports whether this call removed it: of two racing uses, one wins.
    if not value or not cache.delete(key):
        raise AuthError("invalid ticket: unknown, used or expired")
    user = get_user_model().objects.filter(pk=value["user_id"], is_active=True).first()
    if user is None:
        raise AuthError("invalid ticket: no such active user")
    return user, value["expires_at"]


def bearer_subprotocol(scope: dict[str, Any]) -> str | None:
    protocols = scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0] == "bearer":
        return str(protocols[1])
    return None


@realtime_db
def _resolve_credential(method: str, value: str) -> tuple[Any, float | None]:
    if method == "ticket":
        return consume_ticket(value)
    return validate_access_token(value)


class _SessionAuth:
    """The session cookie's user (inside Channels' cookie and session middleware)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = await get_user(scope) if "session" in scope else AnonymousUser()
        scope = {**scope, "user": user, "auth": AuthInfo("session" if user.is_authenticated else "")}
        return await self.inner(scope, receive, send)


class _CredentialAuth:
    """A ticket, token or bearer subprotocol when the handshake carries one; else the session
    cookie. The cookie and session machinery (two scope copies and a session object per
    socket) runs only for sockets that need it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.session = CookieMiddleware(SessionMiddleware(_SessionAuth(inner)))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        params = query_params(scope)
        credential = None
        if params.get("ticket"):
            credential = ("ticket", params["ticket"])
        elif params.get("token"):
            credential = ("token", params["token"])
        elif (bearer := bearer_subprotocol(scope)) is not None:
            credential = ("bearer", bearer)
        if credential is None:
            return await self.session(scope, receive, send)
        try:
            user, expires_at = await _resolve_credential(*credential)
            auth = {"user": user, "auth": AuthInfo(credential[0], expires_at)}
        except AuthError as exc:
            auth = {"user": AnonymousUser(), "auth": AuthInfo(credential[0], None, str(exc))}
        return await self.inner({**scope, **auth}, receive, send)


def RealtimeAuthMiddleware(inner: Any) -> Any:  # noqa: N802 - named like Channels' stacks
    """Ticket, token or bearer subprotocol; else the session cookie."""
    return _CredentialAuth(inner)


class OriginValidator:
    """
    Refuses a WebSocket handshake from a cross-site browser page (HTTP 403). Browsers always
    send `Origin`; an origin is allowed when its host is in ALLOWED_HOSTS or it is listed in
    WS_ALLOWED_ORIGINS. Clients that send no Origin (wscat, servers) are not browsers and
    are let through: the token, not the origin, authenticates them.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is not None and not origin_allowed(origin.decode("latin1")):
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})  # before accept: Daphne answers 403
            return None
        return await self.inner(scope, receive, send)


def origin_allowed(origin: str) -> bool:
    from urllib.parse import urlsplit

    from django.http.request import validate_host

    if origin in settings.WS_ALLOWED_ORIGINS or "*" in settings.WS_ALLOWED_ORIGINS:
        return True
    host = urlsplit(origin).hostname or ""
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)
