"""Process plumbing for targets: free ports, server processes we own, a private Redis.

Every process here is started by the harness in its own session and stopped by its own id
(SIGTERM to its process group, then SIGKILL), never by name.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import redis

LOG_TAIL_LINES = 25


class TargetUnavailableError(Exception):
    """The target cannot run here; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file (empty when there is none)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_once(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout_s: float) -> None:
    """Run a setup command to completion; raise `TargetUnavailableError` with its output on failure."""
    with log.open("ab") as out:
        try:
            result = subprocess.run(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise TargetUnavailableError(f"`{' '.join(argv)}` did not finish in {timeout_s:.0f} s") from exc
        except OSError as exc:
            raise TargetUnavailableError(f"`{' '.join(argv)}` could not start: {exc}") from exc
    if result.returncode != 0:
        raise TargetUnavailableError(f"`{' '.join(argv)}` exited {result.returncode}:\n{tail(log)}")


class ServerProcess:
    """A long-running server started by the harness, its output in a log file."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.argv = argv
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Still running."""
        return self.proc.poll() is None

    def wait_http(self, url: str, timeout_s: float = 30.0) -> None:
        """Poll `url` until it answers 200; raise `TargetUnavailableError` if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise TargetUnavailableError(
                    f"`{' '.join(self.argv)}` exited {self.proc.returncode}:\n{tail(self.log)}"
                )
            try:
                response = httpx.get(url, timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        self.stop()
        raise TargetUnavailableError(f"{url} not ready after {timeout_s:.0f} s ({last}):\n{tail(self.log)}")

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM the process group we started, SIGKILL it if it lingers."""
        if not self.alive():
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


class PrivateRedis:
    """A throwaway `redis-server` on a free port: no persistence, ours alone."""

    def __init__(self, log_dir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise TargetUnavailableError("redis-server is not on PATH; install Redis to run this target")
        self.port = free_port()
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "20000",
        ]
        self.server = ServerProcess(argv, cwd=log_dir, env=dict(os.environ), log=log_dir / f"redis-{self.port}.log")
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        self.server.stop()
        raise TargetUnavailableError(
            f"private redis-server on port {self.port} did not start:\n{tail(self.server.log)}"
        )

    def client(self) -> "redis.Redis":
        """A client of this server (database 0)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2.0)

    def url(self, db: int = 0) -> str:
        """The `redis://` URL of database `db`."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        """Empty this private server (never the shared one)."""
        self.client().flushall()

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.server.pid

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()


class BenchDatabase:
    """The database of one target: a SQLite file in its directory, or, with `BENCH_POSTGRES_URL`
    set (a server URL such as `postgres://postgres@127.0.0.1:5432`), a Postgres database of the
    benchmark's own, `syncline_bench_<target>`, created afresh and dropped by `drop`.

    On Postgres `counters()` reads the server's statistics of that database (transactions,
    rows written, table scans), from which the publish scenario reports costs per event."""

    def __init__(self, name: str, workdir: Path) -> None:
        server = os.environ.get("BENCH_POSTGRES_URL", "").rstrip("/")
        self.postgres = bool(server)
        if not self.postgres:
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            return
        import psycopg

        self.server, self.dbname = server, "syncline_bench_" + name.replace("-", "_")
        try:
            with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.dbname}"')
        except psycopg.Error as exc:
            raise TargetUnavailableError(f"BENCH_POSTGRES_URL={server}: cannot create {self.dbname}: {exc}") from exc
        self.url = f"{server}/{self.dbname}"

    def drop(self) -> None:
        """Drop the Postgres database (the SQLite file goes with the run's directory)."""
        if not self.postgres:
            return
        import psycopg

        with psycopg.connect(f"{self.server}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    def counters(self) -> dict[str, int]:
        """Cumulative statistics of this database (empty on SQLite, which keeps none)."""
        if not self.postgres:
            return {}
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            # The application's tables only: a catalog write (CREATE TABLE) is not an event's cost.
            tables = conn.execute(
                "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0),"
                " COALESCE(SUM(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0)), 0) FROM pg_stat_user_tables"
            ).fetchone()
        assert row is not None and tables is not None
        return {"db_transactions": int(row[0]), "db_rows_written": int(tables[0]), "db_table_scans": int(tables[1])}


def redis_commands(client: "redis.Redis") -> int:
    """Commands a Redis server has run since it started (INFO commandstats; earlier INFO calls
    included, this one not)."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())
