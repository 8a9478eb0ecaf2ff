"""
Helpers for the deployment tests: the shipped launcher (run_asgi.sh) as a real process,
nginx on the shipped site config, a Redis that can be stopped and started again on its
port, the demo API calls that make events, and a Prometheus text parser.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.support import BACKEND, PYTHON, ROOT, free_port, wait_until

RUN_ASGI = ROOT / "run_asgi.sh"
SECRET_KEY = "deploy-test-secret-key-with-enough-length-for-hs256"
PASSWORD = "demo-pass-123"
# Settings that must come from each test, never from the environment pytest runs in.
_OUTER = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "REALTIME_REDIS_URLS",
    "REDIS_PREFIX",
    "CHANNEL_LAYER",
    "CELERY_BROKER_URL",
)


def app_env(database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a production process: run_asgi.sh picks the production settings."""
    env = {k: v for k, v in os.environ.items() if k not in _OUTER and not k.startswith(("LOG_", "WEB_", "ASGI_"))}
    env.update(
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        REDIS_PREFIX=prefix,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    subprocess.run([PYTHON, "manage.py", *args], cwd=BACKEND, env=env, check=True, capture_output=True)


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (supervisor's numprocs_start)."""
    for _ in range(50):
        first = free_port()
        if all(port_free(first + i) for i in range(1, count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def client_for(port: int | None = None, unix: str | None = None, timeout: float = 10) -> httpx.Client:
    if unix:
        return httpx.Client(transport=httpx.HTTPTransport(uds=unix), base_url="http://localhost", timeout=timeout)
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout)


def answers(client: httpx.Client, path: str = "/healthz") -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.HTTPError:
        return False


class Web:
    """One `run_asgi.sh` process (TCP port or unix socket), its output in `log`."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None, unix: str | None = None) -> None:
        self.port, self.unix, self.log = port, unix, log
        bind = {"BIND_UNIX": unix} if unix else {"HOST": "127.0.0.1", "PORT": str(port)}
        self.env = {**env, **bind}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def upstream(self) -> str:
        return f"unix:{self.unix}" if self.unix else f"127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return client_for(self.port, self.unix)

    def start(self) -> Web:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([str(RUN_ASGI)], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        with self.client() as client:
            wait_until(lambda: self._alive() and answers(client), "run_asgi.sh answers /healthz", explain=self.output)
        return self

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"run_asgi.sh exited with {self.proc.returncode}\n{self.output()}")
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as supervisor and systemd do; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"run_asgi.sh did not stop within {timeout}s of SIGTERM") from None
        return self.proc.returncode


class RedisServer:
    """A private redis-server that a test can stop and start again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: `apt-get install redis-server`")
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([self.binary, *args], stdout=subprocess.DEVNULL)
        wait_until(self.answers, "redis-server answers", timeout=10)
        return self

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- nginx --------------------------------------------------------------------------------
NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "syncline.conf"


def ensure_nginx() -> Path:
    """Debian's nginx, installed when missing; failing to install fails the test."""
    if NGINX.exists():
        return NGINX
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "nginx"]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:  # the package lists may never have been fetched
        subprocess.run(["apt-get", "update"], capture_output=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not NGINX.exists():
        raise AssertionError(f"nginx is needed and `apt-get install -y nginx` failed:\n{result.stderr[-2000:]}")
    return NGINX


def render_nginx(tmp: Path, upstreams: list[str], listen: int) -> Path:
    """The shipped site config, unchanged but for its listen port, access log path and the
    upstream list (its own file, as in production), inside a minimal main config."""
    site = SITE.read_text()
    site, listens = re.subn(r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen};", site, flags=re.M)
    site, logs = re.subn(r"access_log /var/log/nginx/access\.log ", f"access_log {tmp}/access.log ", site)
    assert listens == 1 and logs == 1, "deploy/nginx/syncline.conf no longer has the lines this test renders"
    (tmp / "syncline").mkdir(exist_ok=True)
    (tmp / "syncline" / "upstreams.conf").write_text(
        "".join(f"server {u} max_fails=3 fail_timeout=10s;\n" for u in upstreams)
    )
    (tmp / "site.conf").write_text(site)
    for scratch in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / scratch).mkdir(exist_ok=True)
    (tmp / "nginx.conf").write_text(
        # Started as root, nginx would run its worker as `nobody`, which cannot reach the unix
        # socket in the test's private directory; in production the socket directory is
        # readable by nginx's user (deploy/supervisor, deploy/systemd).
        f"user {getpass.getuser()};\n"
        "worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  client_body_temp_path {tmp}/client_body; proxy_temp_path {tmp}/proxy;\n"
        f"  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;\n"
        "  include site.conf;\n"
        "}\n"
    )
    return tmp / "nginx.conf"


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[str]) -> None:
        self.tmp, self.port = tmp, free_port()
        self.conf = render_nginx(tmp, upstreams, self.port)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        return self.tmp / "access.log"

    def command(self, *extra: str) -> list[str]:
        settings = f"daemon off; pid {self.tmp}/nginx.pid; error_log {self.tmp}/error.log;"
        return [str(ensure_nginx()), "-p", str(self.tmp), "-c", str(self.conf), "-g", settings, *extra]

    def start(self) -> Nginx:
        check = subprocess.run(self.command("-t"), capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        with client_for(self.port) as client:
            wait_until(lambda: answers(client), "nginx answers /healthz", explain=self.errors)
        return self

    def errors(self) -> str:
        log = self.tmp / "error.log"
        return log.read_text()[-3000:] if log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- the demo API ---------------------------------------------------------------------------
class Api:
    """Signed-in demo users against one base URL (directly or through nginx)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.client.post("/api/auth/token/", json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            self.tokens[username] = str(r.json()["access"])
        return self.tokens[username]

    def call(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        r = self.client.request(method, path, headers={"Authorization": f"Bearer {self.token(username)}"}, **kwargs)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def unit_id(self, username: str, name: str) -> int:
        return next(int(u["id"]) for u in self.call(username, "GET", "/api/auth/me/")["units"] if u["name"] == name)

    def approve_new_request(self, unit_id: int, title: str) -> int:
        """bob files a storage request in the unit, alice approves it: a `request.updated`
        event with action `approved` on `requests.unit.<id>`. Returns the request id."""
        created = self.call(
            "bob", "POST", "/api/requests/", json={"unit": unit_id, "request_type": "storage", "title": title}
        )
        self.call("alice", "POST", f"/api/requests/{created['id']}/approve/")
        return int(created["id"])


async def event_for(ws: Any, request_id: int, action: str = "approved", timeout: float = 10) -> dict[str, Any]:
    """Read the socket until the `request.updated` event of this request and action."""

    async def read() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if message.get("request_id") == request_id and message.get("action") == action:
                return message

    return await asyncio.wait_for(read(), timeout)


async def pong(ws: Any) -> None:
    """Messages are handled in order: a pong means the subscriptions are in place."""
    await ws.send(json.dumps({"type": "ping"}))

    async def read() -> None:
        while json.loads(await ws.recv()).get("type") != "pong":
            pass

    await asyncio.wait_for(read(), 10)


# -- Prometheus text ------------------------------------------------------------------------
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def parse_metrics(text: str) -> dict[str, dict[str, float]]:
    """{series name: {label text ("" without labels): value}}; HELP/TYPE lines give empty series."""
    series: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            series.setdefault(line.split()[2], {})
        elif line and not line.startswith("#"):
            match = _SAMPLE.match(line)
            assert match, f"not Prometheus text: {line!r}"
            name, labels, value = match.groups()
            series.setdefault(name, {})[labels or ""] = float(value)
    return series
