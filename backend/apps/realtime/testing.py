"""
Helpers for the tests of a project built on the real-time layer (docs/testing.md).

What a change published:

    from apps.realtime.testing import capture_events

    def test_approving_publishes(db, request_obj, alice):
        with capture_events() as events:
            approve(request_obj, by=alice)
        events.assert_published(f"requests.unit.{request_obj.unit_id}", type="request.updated", status="approved")

Events published after commit are captured when they are published. Under a test that runs
in a transaction (pytest-django's `db`, Django's `TestCase`) nothing commits, so the capture
runs the commit callbacks still pending, as if the transaction had committed, whenever its
events are read; a rolled-back savepoint's callbacks are gone and publish nothing, as in
production. What a socket receives:

    from apps.realtime.testing import connect

    async def test_the_socket_gets_it(transactional_db, alice):
        async with connect("/ws/notifications/", user=alice) as socket:
            await sync_to_async(notify)(alice, "hello")
            event = await socket.receive_event()
            assert event["type"] == "notification.created"

As a pytest plugin (`pytest_plugins = ["apps.realtime.testing"]` in a conftest.py): the
fixture `realtime_events` is a capture for the whole test.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.module_loading import import_string
from rest_framework_simplejwt.tokens import AccessToken

from . import publish

__all__ = [
    "Capture",
    "Socket",
    "access_token",
    "assert_nothing_published",
    "assert_published",
    "capture_events",
    "connect",
    "realtime_events",
]

_active: list[Capture] = []  # the captures open now, innermost last


class Capture:
    """The events published while it is open: `events`, each a dict of the envelope with its
    `id` and `stream`, in the order they were published."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.using = using
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _record(self, stream: str, event_id: str, payload: str) -> None:
        event = {"id": event_id, **json.loads(payload)}
        with self._lock:
            self._events.append(event)

    def _run_pending_commits(self) -> None:
        """Run the commit callbacks of the enclosing test transaction, as its commit would
        (and the ones they register), and forget them: a later change registers its own."""
        connection = connections[self.using]
        while connection.in_atomic_block and connection.run_on_commit:
            entries, connection.run_on_commit = connection.run_on_commit, []
            for entry in entries:  # (savepoint ids, callback, robust)
                entry[1]()

    @property
    def events(self) -> list[dict[str, Any]]:
        self._run_pending_commits()
        with self._lock:
            return list(self._events)

    def on(self, stream: str) -> list[dict[str, Any]]:
        """The events published to `stream`."""
        return [e for e in self.events if e.get("stream") == stream]

    def assert_published(self, stream: str, type: str | None = None, **fields: Any) -> dict[str, Any]:
        """The first event on `stream` of this `type` whose fields (at the top of the envelope,
        else in its `data`) equal `fields`; fails listing what was published otherwise."""
        for event in self.on(stream):
            if type is not None and event.get("type") != type:
                continue
            if all(_field(event, key) == value for key, value in fields.items()):
                return event
        wanted = ", ".join([f"type={type!r}"] * (type is not None) + [f"{k}={v!r}" for k, v in fields.items()])
        raise AssertionError(f"no event on {stream!r} with {wanted or 'anything'}; published: {self._describe()}")

    def assert_nothing_published(self, stream: str | None = None) -> None:
        """Nothing was published (to `stream`, when given)."""
        events = self.events if stream is None else self.on(stream)
        if events:
            raise AssertionError(f"published {len(events)} event(s): {self._describe(events)}")

    def _describe(self, events: list[dict[str, Any]] | None = None) -> str:
        events = self.events if events is None else events
        if not events:
            return "nothing"
        return "; ".join(
            f"{e.get('stream')}: {json.dumps({k: v for k, v in e.items() if k != 'stream'})}" for e in events
        )


_MISSING = object()


def _field(event: dict[str, Any], key: str) -> Any:
    if key in event:
        return event[key]
    data = event.get("data")
    return data.get(key, _MISSING) if isinstance(data, dict) else _MISSING


@contextlib.contextmanager
def capture_events(using: str = DEFAULT_DB_ALIAS) -> Iterator[Capture]:
    """Record what is published while the block runs (see the module docstring)."""
    capture = Capture(using)
    publish.observers.append(capture._record)
    _active.append(capture)
    try:
        yield capture
        capture._run_pending_commits()
    finally:
        _active.remove(capture)
        publish.observers.remove(capture._record)


def _current() -> Capture:
    if not _active:
        raise RuntimeError("no capture is open: use `with capture_events():` or the realtime_events fixture")
    return _active[-1]


def assert_published(stream: str, type: str | None = None, **fields: Any) -> dict[str, Any]:
    """`Capture.assert_published` on the innermost open capture."""
    return _current().assert_published(stream, type, **fields)


def assert_nothing_published(stream: str | None = None) -> None:
    """`Capture.assert_nothing_published` on the innermost open capture."""
    _current().assert_nothing_published(stream)


def access_token(user: Any, lifetime: float | timedelta | None = None) -> str:
    """An access token of `user`, as `POST /api/auth/token/` issues it, valid for `lifetime`
    (seconds or a timedelta; the configured lifetime when None; negative: already expired)."""
    token = AccessToken.for_user(user)
    if lifetime is not None:
        seconds = lifetime.total_seconds() if isinstance(lifetime, timedelta) else float(lifetime)
        token.set_exp(lifetime=timedelta(seconds=seconds))
    return str(token)


class Socket:
    """A WebSocket opened on the project's ASGI application (`connect`)."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.accepted = False
        self.closed_with: int | None = None
        self.presence: list[dict[str, Any]] = []  # presence messages, kept apart from events

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        """The next message that is not presence, a dict (`{"type": "__closed__", "code": ...}`
        when the server closed the socket)."""
        while True:
            if self.closed_with is not None:
                return {"type": "__closed__", "code": self.closed_with}
            message = await self._next(timeout)
            if message["type"] == "websocket.close":
                self.closed_with = int(message.get("code") or 1000)
                continue
            body = dict(json.loads(message["text"]))
            if str(body.get("type", "")).startswith("presence."):
                self.presence.append(body)
                continue
            return body

    async def _next(self, timeout: float) -> dict[str, Any]:
        # Wait with receive_nothing: receive_output's own timeout cancels the application.
        if await self.communicator.receive_nothing(timeout):
            raise TimeoutError(f"nothing within {timeout:g}s")
        return dict(await self.communicator.receive_output(1))

    async def receive_event(self, timeout: float = 5) -> dict[str, Any]:
        """The next event (a message with an `id`), skipping control messages; fails if the
        socket closes or nothing comes within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                message = await self.receive(max(left, 0.01))
            except TimeoutError:
                raise AssertionError(f"no event within {timeout:g}s") from None
            if message["type"] == "__closed__":
                raise AssertionError(f"the socket closed with {message['code']} before an event came")
            if "id" in message:
                return message

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def ready(self, timeout: float = 5) -> None:
        """Wait until the server has handled everything sent so far (a ping's pong): the
        socket's subscriptions are live then."""
        await self.send({"type": "ping"})
        while (await self.receive(timeout))["type"] != "pong":
            pass

    async def close_code(self, timeout: float = 5) -> int:
        """Read until the server closes the socket; its close code."""
        while self.closed_with is None:
            message = await self._next(timeout)
            if message["type"] == "websocket.close":
                self.closed_with = int(message.get("code") or 1000)
        return self.closed_with

    async def nothing_more(self, within: float = 0.3) -> bool:
        """Nothing but presence arrives within `within` seconds."""
        try:
            await self.receive(within)
        except TimeoutError:
            return True
        return False

    async def disconnect(self) -> None:
        if self.closed_with is None:
            await self.communicator.disconnect()


def application() -> Any:
    """The project's ASGI application (settings.ASGI_APPLICATION)."""
    return import_string(settings.ASGI_APPLICATION)


@contextlib.asynccontextmanager
async def connect(
    path: str,
    user: Any = None,
    token: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    subprotocols: list[str] | None = None,
    accept: bool = True,
) -> AsyncIterator[Socket]:
    """Open `path` (`/ws/...`) on the project's ASGI application as `user` (a token of theirs
    in `?token=`) or with `token`, or anonymously. With `accept` (the default) fails unless
    the server accepts; with accept=False the socket may be closed already: read
    `close_code()`. The socket is disconnected when the block ends."""
    if user is not None and token is None:
        token = access_token(user)
    if token is not None:
        path = f"{path}{'&' if '?' in path else '?'}token={token}"
    communicator = WebsocketCommunicator(application(), path, headers=headers, subprotocols=subprotocols)
    socket = Socket(communicator)
    connected, code = await communicator.connect(timeout=5)
    socket.accepted = bool(connected)
    if not connected:
        socket.closed_with = int(code or 1000)
    if accept and not connected:
        raise AssertionError(f"{path.split('?', 1)[0]} was refused with {code}")
    try:
        yield socket
    finally:
        await socket.disconnect()


@pytest.fixture
def realtime_events() -> Iterator[Capture]:
    """What the test published (a `Capture` open for the whole test)."""
    with capture_events() as capture:
        yield capture
