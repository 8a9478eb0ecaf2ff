"""
Faults and measurements on real processes: a private Redis that can be killed and started
again empty on the same port, or paused; a Daphne process killed and started again on the
same port and database; resident memory and open file descriptors read from /proc.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_client

from tests import support


@dataclass
class RedisProcess:
    """The test's own redis-server; `restart_empty()` replaces it by a new one on the same port."""

    url: str
    proc: subprocess.Popen[bytes]
    replacements: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def client(self) -> redis_client.Redis:
        return redis_client.Redis.from_url(self.url, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return bool(redis_client.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1).ping())
        except redis_client.RedisError:
            return False

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def restart_empty(self, timeout: float = 10) -> None:
        """Kill Redis (no save: it comes back with nothing) and start a new one on the same port."""
        before = self.client().info("server")["run_id"]
        self.kill()
        self.start_empty(timeout)
        # A new instance (servers may write to it at once: their hubs rejoin their groups).
        assert self.client().info("server")["run_id"] != before, "Redis is expected to be a new, empty instance"

    def start_empty(self, timeout: float = 10) -> None:
        """Start a new, empty redis-server on this port (after `kill()`); return once it answers."""
        binary = shutil.which("redis-server")
        assert binary is not None
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self.replacements.append(self.proc)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"redis-server did not start again on port {self.port} within {timeout:.0f}s")
            time.sleep(0.05)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP Redis: connections stay open, nothing answers, until SIGCONT on exit."""
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def restartable_redis() -> Iterator[RedisProcess]:
    with support.own_redis() as (url, proc):
        process = RedisProcess(url, proc)
        try:
            yield process
        finally:
            for replacement in process.replacements:
                replacement.kill()
                replacement.wait()


def copy_database(template: Path, directory: Path) -> None:
    """The demo database for a server whose default path is `directory/db.sqlite3`."""
    shutil.copyfile(template, directory / "db.sqlite3")


def kill_server(server: support.Server) -> None:
    """SIGKILL the Daphne process: no graceful close, its sockets just drop."""
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait()


def restart_server(server: support.Server) -> None:
    """Start the server again on the same port and database (no migrate, no seed)."""
    server.start(migrate=False)


def server_log(server: support.Server) -> str:
    """The server's output without Daphne's access-log lines."""
    if not server.log.exists():
        return "(no log)"
    lines = server.log.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if not _ACCESS_LINE.match(line))


_ACCESS_LINE = re.compile(r'^\S+ - - \[[^]]+\] "')


def server_pid(server: support.Server) -> int:
    assert server.proc is not None and server.proc.poll() is None, "the server is not running"
    return server.proc.pid


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread while in use; `.peak` in MB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(OSError, AssertionError):
                self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.start
