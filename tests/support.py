"""Helpers for tests: Redis, layer configuration, demo users, WebSocket and server processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import redis
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from config.settings.base import channel_layers_for

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
PYTHON = sys.executable


class NullWriter:
    def write(self, *args: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server on a free port (tests that kill or pause Redis use this)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: `apt-get install redis-server`, or set REDIS_URL")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    try:
        yield url, proc
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        if not _answers(url):
            raise RuntimeError(f"REDIS_URL={url} does not answer")
        yield url
        return
    if _answers("redis://127.0.0.1:6379/0"):
        yield "redis://127.0.0.1:6379/0"
        return
    with own_redis() as (url, _):
        yield url


@contextlib.contextmanager
def configured_layer(settings: Any, mode: str, url: str, prefix: str) -> Iterator[None]:
    """Switch this process to `mode` on `url`: the settings object, the channel layers and the
    backends made from the old settings reload on the change (and again when the `settings`
    fixture puts them back)."""
    settings.CHANNEL_LAYER = mode
    settings.REDIS_URL = url
    settings.REALTIME_REDIS_URLS = [url] if url else []
    settings.REDIS_PREFIX = prefix
    settings.CHANNEL_LAYERS = channel_layers_for(mode, url, prefix)
    yield


class Demo:
    """The seeded demo users and units, with tokens and API clients."""

    def user(self, username: str) -> Any:
        from apps.accounts.models import User

        return User.objects.get(username=username)

    def unit(self, name: str) -> Any:
        from apps.accounts.models import Unit

        return Unit.objects.get(name=name)

    def token(self, username: str) -> str:
        return str(AccessToken.for_user(self.user(username)))

    def api(self, username: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token(username)}")
        return client


def application() -> Any:
    from config.asgi import application

    return application


async def connect(path: str, **kwargs: Any) -> tuple[WebsocketCommunicator, bool, int | None]:
    """Open `path` on the whole ASGI app; returns (communicator, accepted, close code if closed at once)."""
    communicator = WebsocketCommunicator(application(), path, **kwargs)
    connected, subprotocol = await communicator.connect(timeout=5)
    if not connected:
        return communicator, False, subprotocol
    return communicator, True, None


def is_presence(message: dict[str, Any]) -> bool:
    return str(message.get("type", "")).startswith("presence.")


async def receive(communicator: WebsocketCommunicator, timeout: float = 5, presence: bool = False) -> dict[str, Any]:
    """The next message; presence messages (of presence streams) are skipped unless asked for."""
    while True:
        message = await communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            return {"type": "__closed__", "code": message.get("code")}
        body = json.loads(message["text"])
        if presence or not is_presence(body):
            return dict(body)


async def close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int | None:
    """Read until the server closes; returns the close code."""
    while True:
        message = await communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            return message.get("code")


async def ready(communicator: WebsocketCommunicator) -> None:
    """Messages are handled in order: a pong means the connect handler (subscriptions) is done."""
    await communicator.send_json_to({"type": "ping"})
    while (await receive(communicator))["type"] != "pong":
        pass


async def nothing_more(communicator: WebsocketCommunicator, within: float = 0.3) -> bool:
    """Nothing but presence messages arrives within `within` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        if await communicator.receive_nothing(timeout=left):
            return True
        message = await communicator.receive_output(1)
        if message["type"] == "websocket.close" or not is_presence(json.loads(message["text"])):
            return False
    return True


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30, explain: Callable[[], str] = str) -> None:
    """Poll `check` until it is true: for what a server does on its own time, with nothing to await."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s\n{explain()}")
        time.sleep(0.1)


def metric_values(text: str) -> dict[str, float]:
    """A /metrics page as {'name{labels}': value}."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


# -- real server processes ---------------------------------------------------------------
# What Daphne, uvicorn and Django log for an exception nothing handled.
UNHANDLED = ("Exception inside application", "Exception in ASGI application", "Internal Server Error:")


class Server:
    """A real Daphne (or uvicorn) process on a free port, with its own SQLite file and env."""

    def __init__(
        self,
        env: dict[str, str],
        server: str = "daphne",
        db: str | None = None,
        host: str = "127.0.0.1",
        wrap: Sequence[str] = (),
    ) -> None:
        """`host`: the address to serve on; `wrap`: a command prefix, e.g. to run the server
        inside a network namespace (tests/reliability/netns.py)."""
        self.port = free_port()
        self.host, self.wrap = host, list(wrap)
        self.tmp = tempfile.mkdtemp(prefix="syncline-test-")
        self.db = db or f"sqlite:///{self.tmp}/db.sqlite3"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DEBUG": "0",
            "SECRET_KEY": "e2e-secret-key-with-enough-length-for-hs256",
            "ALLOWED_HOSTS": "*",
            "DATABASE_URL": self.db,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.server = server
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(self.tmp) / "server.log"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=BACKEND, env=self.env, check=True, capture_output=True)

    def start(self, migrate: bool = True, ready_timeout: float = 30) -> Server:
        if migrate:
            self.manage("migrate", "--noinput")
            self.manage("seed_demo", "--force")
        if self.server == "daphne":
            # The production launcher: Daphne with the project's frame limit and graceful stop.
            cmd = [
                PYTHON,
                "-m",
                "config.serve",
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "config.asgi:application",
            ]
        else:
            cmd = [PYTHON, "-m", "uvicorn", "--host", self.host, "--port", str(self.port), "config.asgi:application"]
        self.proc = subprocess.Popen(
            [*self.wrap, *cmd], cwd=BACKEND, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer /healthz: {self.log.read_text()[-2000:]}")

    def token(self, username: str) -> str:
        import httpx

        r = httpx.post(
            f"{self.base}/api/auth/token/", json={"username": username, "password": "demo-pass-123"}, timeout=30
        )
        r.raise_for_status()
        return str(r.json()["access"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        errors = self.unhandled_errors()
        shutil.rmtree(self.tmp, ignore_errors=True)
        # An exception that reached the server (the client got a 500 or a 1011) or Django's
        # request handler (a 500): whatever the test asserted, that is a bug.
        assert not errors, f"the server on port {self.port} failed a request:\n{errors}"

    def unhandled_errors(self) -> str:
        """The log from its first unhandled exception on ("" when there is none)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found = [at for at in (text.find(m) for m in UNHANDLED) if at >= 0]
        if not found:
            return ""
        at = min(found)
        return text[text.rfind("\n", 0, at) + 1 : at + 8000]

    def __enter__(self) -> Server:
        # `with Server(env).start(migrate=False) as b` has started it already: a second
        # start would leave the first process running after the test.
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def ws_json(ws: Any, timeout: float = 5, presence: bool = False) -> dict[str, Any]:
    """The next message of a websockets client; presence messages are skipped unless asked for."""
    while True:
        body = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if presence or not is_presence(body):
            return dict(body)
