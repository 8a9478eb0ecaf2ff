"""
Fixtures of the deployment tests: a demo database made once (migrate + seed_demo --force)
and copied for each setup, a private Redis, and the nginx stack (nginx in front of two
run_asgi.sh processes, one on a port and one on a unix socket, sharing Redis and SQLite).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import support
from tests.deploy import stack


@pytest.fixture(scope="session")
def private_redis() -> Iterator[str]:
    with support.own_redis() as (url, _):
        yield url


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file; copy it with `database_copy`."""
    path = tmp_path_factory.mktemp("demo-db") / "db.sqlite3"
    env = stack.app_env(f"sqlite:///{path}", "", "unused")
    del env["REDIS_URL"]
    stack.manage(env, "migrate", "--noinput")
    stack.manage(env, "seed_demo", "--force")
    return path


def database_copy(template: Path, directory: Path) -> str:
    """A copy through SQLite's backup API: the file alone misses what is still in its WAL."""
    target = directory / "db.sqlite3"
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


@dataclass
class Stack:
    web_tcp: stack.Web
    web_unix: stack.Web
    nginx: stack.Nginx
    api: stack.Api  # through nginx
    north: int

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.nginx.port}"


@pytest.fixture(scope="session")
def nginx_stack(tmp_path_factory: pytest.TempPathFactory, demo_database: Path, private_redis: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    env = stack.app_env(database_copy(demo_database, tmp), private_redis, f"dep{uuid.uuid4().hex[:8]}")
    webs = [
        stack.Web(env, tmp / "web-tcp.log", port=support.free_port()),
        stack.Web(env, tmp / "web-unix.log", unix=str(tmp / "web.sock")),
    ]
    nginx: stack.Nginx | None = None
    try:
        for web in webs:
            web.start()
        nginx = stack.Nginx(tmp, [web.upstream for web in webs]).start()
        with stack.client_for(nginx.port) as client:
            api = stack.Api(client)
            yield Stack(webs[0], webs[1], nginx, api, api.unit_id("alice", "North"))
    finally:
        if nginx is not None:
            nginx.stop()
        for web in webs:
            if web.proc is not None:
                web.stop()
