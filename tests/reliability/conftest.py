"""
Fixtures of the fault-injection suite: a demo database made once and copied for every
server, a private redis-server per test, real Daphne processes on it, and a one-line
summary per test, collected and printed at the end of the run (docs/reliability.md
reports them).
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.reliability import faults
from tests.reliability.clients import SECRET_KEY, Demo

SUMMARIES = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file: seeding hashes ten passwords, so it is made once."""
    path = tmp_path_factory.mktemp("reliability-db") / "db.sqlite3"
    template = support.Server({"REDIS_URL": "", "CHANNEL_LAYER": "memory"}, db=f"sqlite:///{path}")
    try:
        template.manage("migrate", "--noinput")
        template.manage("seed_demo", "--force")
    finally:
        template.stop()
    # The file is in WAL mode (config/sqlite3): fold the log into the file, so a copy of the
    # file alone holds everything.
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def demo(demo_database: Path) -> Demo:
    """Ids of the demo users and units (the same in every copy of the database)."""
    with contextlib.closing(sqlite3.connect(demo_database)) as db:
        users = dict(db.execute("SELECT username, id FROM accounts_user"))
        units = dict(db.execute("SELECT name, id FROM accounts_unit"))
    assert users and units, "the demo database has no users or units"
    return Demo(users=users, units=units)


@pytest.fixture
def redis() -> Iterator[faults.RedisProcess]:
    """A private redis-server for this test, which the test may kill, restart or pause."""
    with faults.restartable_redis() as process:
        yield process


Launch = Callable[..., support.Server]


@contextlib.contextmanager
def launcher(demo_database: Path, redis_url: str) -> Iterator[Launch]:
    """
    `launch(**env)` starts a Daphne process on `redis_url` with its own copy of the demo
    database; `launch(share=server)` starts another one on the same database and Redis
    prefix. Every server started is stopped on exit, its log printed (a failing test shows it).
    """
    started: list[support.Server] = []
    prefix = f"rel{uuid.uuid4().hex[:8]}"

    def start(share: support.Server | None = None, **env: str) -> support.Server:
        # Everything on the test's own Redis, whatever the environment pytest runs in says; the
        # product's default channel layer (a test of RedisChannelLayer's own ways asks for it).
        settings = {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix, "CHANNEL_LAYER": "", "SECRET_KEY": SECRET_KEY}
        # Empty CELERY_BROKER_URL and REALTIME_REDIS_URLS: both follow REDIS_URL (Sentinel included).
        settings.update(CELERY_BROKER_URL="", REALTIME_REDIS_URLS="")
        settings.update(env)
        if share is not None:
            server = support.Server(settings, db=share.db)
        else:
            server = support.Server(settings)
            faults.copy_database(demo_database, Path(server.tmp))
        started.append(server)
        return server.start(migrate=False)

    try:
        yield start
    finally:
        errors = []
        for server in started:
            print(f"--- log of the server on port {server.port}, without access lines (last 6000 characters) ---")
            print(faults.server_log(server)[-6000:])
            try:
                server.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        assert not errors, "\n".join(errors)


@pytest.fixture
def launch(demo_database: Path, redis: faults.RedisProcess) -> Iterator[Launch]:
    """Servers of one test, on the test's own Redis."""
    with launcher(demo_database, redis.url) as start:
        yield start


@pytest.fixture(scope="module")
def module_server(demo_database: Path) -> Iterator[support.Server]:
    """One server, with its own Redis, shared by the tests of a module that do not fault it."""
    with faults.restartable_redis() as redis, launcher(demo_database, redis.url) as start:
        yield start()


@pytest.fixture
def summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record this test's one-line result: printed now and again in the end-of-run summary."""

    def record(line: str) -> None:
        print(line)
        request.config.stash.setdefault(SUMMARIES, []).append(line)

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARIES, [])
    if lines:
        terminalreporter.section("reliability")
        for line in lines:
            terminalreporter.write_line(line)
