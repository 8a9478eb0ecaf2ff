"""
The client side of the fault-injection suite: access tokens minted like the server's
(and deliberately bad ones), a WebSocket client that records every frame and its close
code, the HTTP calls that make events, a `manage.py shell` runner with a server's
environment, and the server's /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import websockets

from tests import support

# Every server of this suite signs tokens with this key (it is in the env `launch` gives).
SECRET_KEY = "reliability-secret-key-with-enough-length-for-hs256"
PASSWORD = "demo-pass-123"


@dataclass(frozen=True)
class Demo:
    """Ids of the seeded demo users and units."""

    users: dict[str, int]
    units: dict[str, int]

    def token(self, username: str, lifetime: float = 900, **claims: Any) -> str:
        """An access token of a demo user, as `POST /api/auth/token/` would issue it."""
        return mint(self.users[username], lifetime, **claims)


def mint(user_id: int, lifetime: float, key: str = SECRET_KEY, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"token_type": "access", "exp": now + lifetime, "iat": now, "jti": uuid.uuid4().hex}
    payload.update(user_id=str(user_id), **claims)
    return jwt.encode(payload, key, algorithm=algorithm)


def unsigned(user_id: int, lifetime: float = 900) -> str:
    """A token with `alg: none` and no signature."""
    now = int(time.time())
    header = {"alg": "none", "typ": "JWT"}
    payload = {
        "token_type": "access",
        "exp": now + lifetime,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": str(user_id),
    }
    return f"{_b64(header)}.{_b64(payload)}."


def _b64(value: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


class Recorder:
    """Frames received, in order, and a bounded wait on them that fails saying what came."""

    label = ""
    close_code: int | None = None
    closed_at = 0.0  # epoch seconds when the connection ended

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def record(self, message: str | bytes) -> None:
        self.frames.append(json.loads(message) if isinstance(message, str) else {"type": "__binary__"})
        self._changed.set()

    def finished(self) -> bool:
        """Nothing more can arrive."""
        return False

    async def wait(self, done: Callable[[Any], bool], what: str, timeout: float = 10) -> None:
        """Wait until `done(self)`; fails after `timeout` seconds saying what was missing."""
        deadline = time.monotonic() + timeout
        while True:
            self._changed.clear()
            if done(self):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.finished():
                raise AssertionError(f"{self.label}: {what} within {timeout:.0f}s; {self.describe()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    def count(self, kind: str) -> int:
        return sum(1 for f in self.frames if f.get("type") == kind)

    def events(self, kind: str = "request.updated") -> list[dict[str, Any]]:
        return self.of_type(kind)

    def describe(self) -> str:
        kinds: dict[str, int] = {}
        for f in self.frames:
            kinds[str(f.get("type"))] = kinds.get(str(f.get("type")), 0) + 1
        return f"received {kinds or 'nothing'}, close code {self.close_code}, last {self.frames[-3:]}"


class Socket(Recorder):
    """
    One WebSocket client. A task reads every frame into `frames` as it arrives, so the
    server never waits on this client; `close_code` is set when the connection ends (1006
    when it dropped without a close frame).
    """

    def __init__(self, ws: websockets.ClientConnection, label: str) -> None:
        super().__init__()
        self.ws, self.label = ws, label
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, label: str = "", **kwargs: Any) -> Socket:
        ws = await websockets.connect(url, max_size=None, open_timeout=20, **kwargs)
        return cls(ws, label or url.split("?", 1)[0])

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.record(message)
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
        self.closed_at = time.time()
        self._changed.set()

    def finished(self) -> bool:
        return self._reader.done()

    async def closed(self, timeout: float = 10) -> int:
        """The close code, once the server has closed the socket."""
        await self.wait(lambda s: s.close_code is not None, "closed", timeout)
        assert self.close_code is not None
        return self.close_code

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def ping(self, timeout: float = 10) -> dict[str, Any]:
        """Send a ping and wait for its pong: messages are handled in order, so the
        socket's subscriptions are live afterwards."""
        before = self.count("pong")
        await self.send({"type": "ping"})
        await self.wait(lambda s: s.count("pong") > before, "a pong", timeout)
        return self.of_type("pong")[-1]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


class ResumingClient(Recorder):
    """
    A client that stays subscribed across server restarts, as docs/protocol.md asks of one:
    when its socket drops it reconnects (every 0.1 s while the server is away) with
    `last_event_id` = the id of the last event it received. `frames` spans every
    connection; `drops` counts the connections that ended.
    """

    def __init__(self, url: str, label: str) -> None:
        super().__init__()
        self.url, self.label = url, label
        self.last_id: str | None = None
        self.connections = 0
        self.drops = 0
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def record(self, message: str | bytes) -> None:
        super().record(message)
        event_id = self.frames[-1].get("id")
        if isinstance(event_id, str):
            self.last_id = event_id

    async def _run(self) -> None:
        while not self._stop.is_set():
            url = self.url + (f"&last_event_id={self.last_id}" if self.last_id else "")
            connected = False
            try:
                async with websockets.connect(url, max_size=None, open_timeout=5) as ws:
                    connected = True
                    self.connections += 1
                    self._changed.set()
                    await ws.send(json.dumps({"type": "ping"}))
                    async for message in ws:
                        self.record(message)
                    self.close_code = ws.close_code
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            if connected:
                self.drops += 1
                self._changed.set()
            if not self._stop.is_set():
                await asyncio.sleep(0.1)  # reconnect backoff of the client, not a synchronisation

    async def stop(self) -> None:
        self._stop.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def open_many(urls: Iterable[str], at_once: int = 25) -> list[Socket]:
    """Open sockets, `at_once` handshakes at a time (Daphne's listen backlog is small)."""
    gate = asyncio.Semaphore(at_once)

    async def one(url: str) -> Socket:
        async with gate:
            return await Socket.open(url)

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def all_of(sockets: Iterable[Socket], wait: Callable[[Socket], Any], what: str) -> None:
    """Run a wait on every socket; fail with how many fell short and the first reasons."""
    sockets = list(sockets)
    results = await asyncio.gather(*(wait(s) for s in sockets), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        reasons = "\n".join(str(r) or repr(r) for r in failed[:3])
        raise AssertionError(f"{len(failed)}/{len(sockets)} sockets: {what}\n{reasons}")


async def close_all(sockets: Iterable[Socket]) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


# -- HTTP ------------------------------------------------------------------------------------
def api(server: support.Server, token: str, timeout: float = 30) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


async def create_request(client: httpx.AsyncClient, unit_id: int, title: str) -> int:
    """POST a new request (one `request.updated` event on `requests.unit.<unit_id>`)."""
    response = await client.post("/api/requests/", json={"unit": unit_id, "request_type": "storage", "title": title})
    assert response.status_code == 201, f"POST /api/requests/ answered {response.status_code}: {response.text[:300]}"
    return int(response.json()["id"])


async def approve_request(client: httpx.AsyncClient, request_id: int) -> None:
    """Approve a pending request (an approver's client): `request.updated`, action `approved`."""
    response = await client.post(f"/api/requests/{request_id}/approve/")
    assert response.status_code == 200, f"approve answered {response.status_code}: {response.text[:300]}"


async def metrics(server: support.Server) -> dict[str, float]:
    """The server's /metrics as {'name{labels}': value}."""
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
        return support.metric_values((await client.get("/metrics")).text)


async def manage_shell(server: support.Server, code: str, timeout: float = 120) -> str:
    """Run `manage.py shell -c code` with the server's environment; returns the last line it printed."""
    proc = await asyncio.create_subprocess_exec(
        support.PYTHON,
        "manage.py",
        "shell",
        "-c",
        code,
        cwd=support.BACKEND,
        env=server.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, f"manage.py shell failed ({proc.returncode}):\n{err.decode()[-3000:]}"
    lines = out.decode().strip().splitlines()
    return lines[-1] if lines else ""
