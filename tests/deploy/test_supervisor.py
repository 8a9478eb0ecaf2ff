"""
supervisord on the shipped config (deploy/supervisor/syncline.conf, included unchanged from a
minimal supervisord.conf of the test's own): two Daphne processes on consecutive ports and a
Celery worker come up, answer, and stop cleanly on shutdown.
"""

from __future__ import annotations

import getpass
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy import stack
from tests.deploy.conftest import database_copy
from tests.support import PYTHON, ROOT

SHIPPED = ROOT / "deploy" / "supervisor" / "syncline.conf"
BIN = Path(PYTHON).parent
WEB_PROCESSES = 2


@dataclass
class Supervised:
    ports: list[int]
    redis_url: str
    healthz: dict[int, int]  # port -> status
    status: str  # `supervisorctl status` while running
    worker_log: str
    exit_code: int
    log: str  # supervisord's own log, after shutdown
    ports_closed: bool


def _main_config(tmp: Path) -> Path:
    (tmp / "logs").mkdir()
    conf = tmp / "supervisord.conf"
    conf.write_text(
        "[unix_http_server]\nfile=%(here)s/supervisor.sock\n\n"
        "[supervisord]\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n"
        "childlogdir=%(here)s/logs\nnodaemon=true\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        "[supervisorctl]\nserverurl=unix://%(here)s/supervisor.sock\n\n"
        f"[include]\nfiles = {SHIPPED}\n"
    )
    return conf


def _ctl(conf: Path, *args: str) -> str:
    return subprocess.run([str(BIN / "supervisorctl"), "-c", str(conf), *args], capture_output=True, text=True).stdout


def _worker_log(tmp: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (tmp / "logs").glob("syncline-worker*"))


@pytest.fixture(scope="module")
def supervised(
    tmp_path_factory: pytest.TempPathFactory, demo_database: Path, private_redis: str
) -> Iterator[Supervised]:
    tmp = tmp_path_factory.mktemp("supervisor")
    port_base = stack.consecutive_free_ports(WEB_PROCESSES)
    ports = [port_base + i for i in range(WEB_PROCESSES)]
    env = stack.app_env(
        database_copy(demo_database, tmp),
        private_redis,
        f"sv{uuid.uuid4().hex[:8]}",
        SYNCLINE_HOME=str(ROOT),
        SYNCLINE_USER=getpass.getuser(),
        PORT_BASE=str(port_base),
        WEB_PROCESSES=str(WEB_PROCESSES),
    )
    conf = _main_config(tmp)
    proc = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(conf)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        clients = [stack.client_for(port) for port in ports]

        def explain() -> str:
            return _ctl(conf, "status") + (tmp / "supervisord.log").read_text(errors="replace")[-3000:]

        stack.wait_until(
            lambda: all(stack.answers(c) for c in clients), "both Daphne processes answer", explain=explain
        )
        stack.wait_until(lambda: " ready." in _worker_log(tmp), "the Celery worker is ready", explain=explain)
        healthz = {port: c.get("/healthz").status_code for port, c in zip(ports, clients, strict=True)}
        # A program is RUNNING once it has stayed up `startsecs` (3 s), which can be after it answers.
        stack.wait_until(
            lambda: _ctl(conf, "status").count("RUNNING") == len(ports) + 1, "every program RUNNING", explain=explain
        )
        status = _ctl(conf, "status")
        for client in clients:
            client.close()
        _ctl(conf, "shutdown")
        exit_code = proc.wait(60)
        closed = all(stack.port_free(port) for port in ports)
        yield Supervised(
            ports,
            private_redis,
            healthz,
            status,
            _worker_log(tmp),
            exit_code,
            (tmp / "supervisord.log").read_text(),
            closed,
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def test_supervisord_runs_one_daphne_per_port_and_a_worker(supervised: Supervised) -> None:
    for port in supervised.ports:
        assert re.search(rf"syncline:syncline-web-{port}\s+RUNNING", supervised.status), supervised.status
    assert re.search(r"syncline:syncline-worker\s+RUNNING", supervised.status), supervised.status
    assert supervised.healthz == {port: 200 for port in supervised.ports}


def test_the_worker_consumes_from_the_configured_redis(supervised: Supervised) -> None:
    host_port = supervised.redis_url.split("//", 1)[1]  # 127.0.0.1:<port>/0
    assert re.search(rf"Connected to redis://(:\*\*@)?{re.escape(host_port)}", supervised.worker_log), (
        supervised.worker_log
    )
    assert re.search(r"syncline@\S+ ready\.", supervised.worker_log)


def test_shutdown_stops_every_program_cleanly(supervised: Supervised) -> None:
    assert supervised.exit_code == 0
    stopped = re.findall(r"stopped: (\S+) \((.*?)\)", supervised.log)
    names = {f"syncline-web-{port}" for port in supervised.ports} | {"syncline-worker"}
    assert {name for name, _ in stopped} == names, supervised.log
    assert {reason for _, reason in stopped} == {"exit status 0"}, supervised.log
    assert supervised.ports_closed
