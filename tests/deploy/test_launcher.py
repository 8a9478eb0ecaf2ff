"""
run_asgi.sh and its Daphne launcher (config/serve.py): WEB_CONCURRENCY processes on one
port, a graceful stop that closes sockets with 1012, JSON logs, and an access log that never
carries a query string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import websockets

from apps.realtime.redaction import RedactTokens
from config.logging import JsonFormatter, log_access
from tests import support
from tests.deploy import stack
from tests.deploy.conftest import database_copy


def test_the_access_log_drops_the_query_string(caplog: pytest.LogCaptureFixture) -> None:
    details = {"client": "10.0.0.1:5000", "method": "GET", "status": 200, "size": 10, "time_taken": 0.25}
    with caplog.at_level(logging.INFO, logger="syncline.access"):
        log_access("http", "complete", {**details, "path": "/api/events/?channel=invoices&token=abc.def"})
        log_access("websocket", "connected", {"client": "10.0.0.1:5001", "path": "/ws/invoices/?ticket=t1"})
        log_access("websocket", "connecting", {"client": "10.0.0.1:5001", "path": "/ws/invoices/"})
    assert [r.getMessage() for r in caplog.records] == [
        "10.0.0.1:5000 GET /api/events/ 200 10 0.250s",
        "10.0.0.1:5001 WSCONNECT /ws/invoices/",
    ]


def test_json_logs_are_one_object_per_line_with_fields_and_redacted_tokens() -> None:
    record = logging.LogRecord("syncline.access", logging.INFO, __file__, 1, "GET %s", ("/x?token=abc",), None)
    record.status = 200
    assert RedactTokens().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "INFO"
    assert entry["logger"] == "syncline.access"
    assert entry["message"] == "GET /x?token=[redacted]"
    assert entry["status"] == 200
    assert entry["time"].endswith("+00:00")


@dataclass
class Launched:
    web: stack.Web
    children: list[int]
    child_commands: list[str]  # read while they ran
    close_codes: list[int | None]
    exit_code: int
    log: str


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _stop_with_sockets_open(web: stack.Web, count: int) -> list[int | None]:
    """Open `count` sockets on the health route, SIGTERM the launcher, return the close codes."""
    sockets = [await websockets.connect(f"ws://127.0.0.1:{web.port}/ws/health/") for _ in range(count)]
    for ws in sockets:
        await stack.pong(ws)
    stopping = asyncio.create_task(asyncio.to_thread(web.stop))
    codes: list[int | None] = []
    for ws in sockets:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
    await stopping
    return codes


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory, demo_database: Path, private_redis: str) -> Iterator[Launched]:
    """run_asgi.sh with WEB_CONCURRENCY=2 and LOG_FORMAT=json, stopped with sockets open."""
    tmp = tmp_path_factory.mktemp("launcher")
    env = stack.app_env(
        database_copy(demo_database, tmp),
        private_redis,
        f"la{uuid.uuid4().hex[:8]}",
        WEB_CONCURRENCY="2",
        LOG_FORMAT="json",
    )
    web = stack.Web(env, tmp / "web.log", port=support.free_port())
    try:
        web.start()
        assert web.proc is not None
        children = _children(web.proc.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in children]
        with web.client() as client:
            client.get("/healthz?token=never-logged")
        codes = asyncio.run(_stop_with_sockets_open(web, 4))
        yield Launched(web, children, commands, codes, web.proc.returncode, web.log.read_text())
    finally:
        if web.proc is not None and web.proc.poll() is None:
            web.stop()


def test_web_concurrency_runs_that_many_daphne_processes_on_one_port(launched: Launched) -> None:
    assert len(launched.children) == 2
    for command in launched.child_commands:
        assert " -m config.serve --fd " in command


def test_sigterm_closes_every_socket_with_1012_and_exits_cleanly(launched: Launched) -> None:
    assert launched.close_codes == [1012, 1012, 1012, 1012]
    assert launched.exit_code == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in launched.children)


def test_log_format_json_writes_the_access_log_as_json_without_query_strings(launched: Launched) -> None:
    entries = [json.loads(line) for line in launched.log.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "syncline.access"]
    assert {"path": "/healthz", "status": 200} in [{k: e.get(k) for k in ("path", "status")} for e in access]
    assert any(e["method"] == "WSCONNECT" and e["path"] == "/ws/health/" for e in access)
    assert "never-logged" not in launched.log
