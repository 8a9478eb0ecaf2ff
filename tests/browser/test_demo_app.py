"""
The React demo at /app/: how Django serves the build, and the whole app end to end in Chromium.

The end-to-end test builds the front end when its build is missing or older than its sources,
starts Daphne in Redis mode with a private redis-server (so the event history outlives a server
restart, as in production), and runs frontend/e2e/demo.e2e.mjs (playwright-core) against it. The
script asks this runner, one `@@step <name>` line at a time, to stop the server, change data
while it is down, and start it again on the same port.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.browser.build import FRONTEND, ensure_built
from tests.browser.chromium import CHROMIUM, ensure_chromium
from tests.support import BACKEND, PYTHON, Server, own_redis

DIST = FRONTEND / "demo" / "dist"
SCRIPT = FRONTEND / "e2e" / "demo.e2e.mjs"
# Whatever the demo build is made from: a change to any of them calls for a new build.
BUILD_INPUTS = [
    FRONTEND / "package-lock.json",
    FRONTEND / "demo" / "index.html",
    FRONTEND / "demo" / "vite.config.ts",
    FRONTEND / "demo" / "src",
    FRONTEND / "packages" / "client" / "src",
    FRONTEND / "packages" / "react" / "src",
]
SCENARIO_TIMEOUT = 150


# -- serving the build -----------------------------------------------------------------------
@pytest.fixture
def build(tmp_path: Path, settings: Any) -> Path:
    """A stand-in front-end build, with a file next to it that must never be served."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><script type="module" src="/app/assets/app-1a2b.js"></script>')
    (dist / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (dist / "assets" / "app-1a2b.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    settings.FRONTEND_DIST = dist
    return dist


@pytest.mark.parametrize("debug", [False, True])
def test_app_serves_index_html_for_the_root_and_every_client_side_route(
    build: Path, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    client = Client()
    for path in ("/app/", "/app/requests/42", "/app/deep/link/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response["Cache-Control"] == "no-cache"
        assert response.content == (build / "index.html").read_bytes()
    assert client.get("/app").status_code == 301  # APPEND_SLASH


def test_app_serves_the_build_s_files_with_their_content_types(build: Path) -> None:
    client = Client()
    script = client.get("/app/assets/app-1a2b.js")
    assert script.status_code == 200
    assert script["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.content == b"console.log('app')"
    assert script["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/app/assets/app-1a2b.css")["Content-Type"] == "text/css; charset=utf-8"
    icon = client.get("/app/favicon.svg")
    assert (icon["Content-Type"], icon["Cache-Control"]) == ("image/svg+xml", "no-cache")
    assert client.head("/app/assets/app-1a2b.js").status_code == 200
    assert client.post("/app/assets/app-1a2b.js").status_code == 405


def test_app_answers_404_for_a_missing_asset_rather_than_index_html(build: Path) -> None:
    response = Client().get("/app/assets/app-0000.js")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")


def test_app_serves_nothing_outside_the_build(build: Path) -> None:
    client = Client()
    (build / "assets" / "link.txt").symlink_to(build.parent / "secret.txt")
    for path in ("/app/..%2fsecret.txt", "/app/assets/..%2f..%2fsecret.txt", "/app/assets/link.txt", "/app/%00"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"not for the web" not in response.content


def test_app_says_how_to_build_the_front_end_when_there_is_no_build(tmp_path: Path, settings: Any) -> None:
    settings.FRONTEND_DIST = tmp_path / "no-such-dist"
    response = Client().get("/app/")
    assert response.status_code == 404
    assert b"npm run build" in response.content
    assert Client().get("/healthz").status_code == 200


# -- the demo in a browser -----------------------------------------------------------------------
def ensure_front_end_built() -> None:
    ensure_built("demo", DIST / "index.html", BUILD_INPUTS)


class Runner:
    """Runs the script, echoes its output and answers its `@@step` requests."""

    def __init__(self, server: Server, script: Path = SCRIPT, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            ["node", str(script)],
            cwd=FRONTEND,
            env={**os.environ, "SYNCLINE_E2E_URL": server.base, "CHROMIUM_PATH": CHROMIUM, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, timeout: float) -> int:
        """The script's exit code; an AssertionError when it runs past `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"demo.e2e.mjs ran over {timeout} s:\n" + "\n".join(self.output)) from None
            if line is None:
                break
            self.output.append(line)
            print(line, flush=True)
            if line.startswith("@@step "):
                self._answer(line.split(" ", 1)[1])
        return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))

    def _answer(self, step: str) -> None:
        try:
            answer = getattr(self, "step_" + step.replace("-", "_"))()
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"[runner] {step}: {json.dumps(answer)}", flush=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(answer) + "\n")
        self.proc.stdin.flush()

    def step_stop_server(self) -> dict[str, Any]:
        assert self.server.proc is not None
        # Server.stop() would also delete the database: stop only the process.
        self.server.proc.terminate()
        self.server.proc.wait(10)
        self.output.append(f"[server log before the restart]\n{self.server.log.read_text()[-3000:]}")
        return {}

    def step_change_while_down(self) -> dict[str, Any]:
        """File a request in each unit through the services, as any process of the deployment may."""
        code = (
            "import json\n"
            "from apps.accounts.models import Unit, User\n"
            "from apps.realtime.models import OutboxEvent\n"
            "from apps.requests.services import request_create\n"
            "def filed(unit, requester):\n"
            "    actor = User.objects.get(username=requester)\n"
            "    unit_id = Unit.objects.get(name=unit).pk\n"
            "    title = 'Filed while the server was down'\n"
            "    return request_create(actor=actor, unit_id=unit_id, request_type='storage', title=title).pk\n"
            "print(json.dumps({'north_request': filed('North', 'bob'), 'south_request': filed('South', 'dan'),"
            " 'outbox_left': OutboxEvent.objects.count()}))\n"
        )
        done = subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", code],
            cwd=BACKEND,
            env=self.server.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def step_start_server(self) -> dict[str, Any]:
        self.server.start(migrate=False)  # the same port and database
        return {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def redis_mode_server() -> Iterator[Server]:
    """Daphne with DEBUG off, in Redis mode on a redis-server of its own, serving a fresh build."""
    ensure_chromium()
    ensure_front_end_built()
    with own_redis() as (url, _), Server({"REDIS_URL": url, "REDIS_PREFIX": "demo-e2e"}) as server:
        yield server


def test_daphne_serves_the_built_app_its_assets_and_its_client_side_routes(redis_mode_server: Server) -> None:
    base = redis_mode_server.base
    index = httpx.get(f"{base}/app/")
    assert (index.status_code, index.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert httpx.get(f"{base}/app/requests/1").text == index.text
    assets = re.findall(r'(?:src|href)="(/app/assets/[^"]+)"', index.text)
    types = {Path(asset).suffix: httpx.get(base + asset).headers["content-type"] for asset in assets}
    assert types == {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}, types


def test_the_demo_app_stays_live_across_users_units_and_a_server_restart(redis_mode_server: Server) -> None:
    runner = Runner(redis_mode_server)
    try:
        code = runner.run(timeout=SCENARIO_TIMEOUT)
    finally:
        runner.stop()
    transcript = "\n".join(runner.output)
    assert code == 0, f"demo.e2e.mjs failed (exit {code}):\n{transcript}\n[server log]\n{_log(redis_mode_server)}"
    assert "all checks passed" in transcript


def _log(server: Server) -> str:
    return server.log.read_text()[-4000:] if server.log.exists() else "(no log)"
