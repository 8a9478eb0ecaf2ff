"""
On a machine where nothing answers on the default addresses (a network namespace whose
loopback has nothing listening, tests/reliability/netns.py), the suite starts its own Redis and Postgres; a server the
caller named but that does not answer fails the run, saying so.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.netns import network
from tests.support import BACKEND, PYTHON, ROOT, free_port

SCRIPT = ROOT / "scripts" / "with_postgres.py"
# What the suite reads to find its servers: none of it may leak in from the outer run.
CHOSEN_BY_ENV = ("POSTGRES_URL", "DATABASE_URL", "REDIS_URL")
# tests.support needs Django set up, as under pytest.
DJANGO = "import django, os\nos.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test'\ndjango.setup()\n"


@pytest.fixture(scope="module")
def empty_netns() -> Iterator[list[str]]:
    """The command prefix into a host of its own: a loopback with nothing listening on it."""
    with network() as net:
        yield net.add("bare").command()


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CHOSEN_BY_ENV}
    return subprocess.run(command, cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=240)


def test_the_postgres_pass_starts_a_throwaway_server_and_removes_it(empty_netns: list[str]) -> None:
    # The command's exit status is the script's: 3 here, after it read from the server.
    probe = (
        "import os, psycopg\n"
        "print(psycopg.connect(os.environ['DATABASE_URL']).execute('select 1').fetchone())\n"
        "raise SystemExit(3)\n"
    )
    done = run([*empty_netns, PYTHON, str(SCRIPT), "--", PYTHON, "-c", probe])
    assert done.returncode == 3, done
    assert done.stdout == "(1,)\n", done
    started = re.search(r"started a throwaway Postgres server on 127\.0\.0\.1:\d+ in (\S+)", done.stderr)
    assert started, done.stderr
    assert f"removed {started[1]}" in done.stderr
    assert not Path(started[1]).exists()


def test_a_named_postgres_that_does_not_answer_fails_saying_so() -> None:
    url = f"postgres://postgres:hunter2@127.0.0.1:{free_port()}/syncline"
    done = run([PYTHON, str(SCRIPT), "--", PYTHON, "-c", "print('ran')"], env={"POSTGRES_URL": url})
    assert done.returncode == 1, done
    assert "ran" not in done.stdout
    assert "is not reachable" in done.stderr and "unset POSTGRES_URL" in done.stderr
    assert "hunter2" not in done.stderr, "the password must not be printed"


def test_the_redis_tests_start_a_throwaway_redis_server(empty_netns: list[str]) -> None:
    probe = (
        f"{DJANGO}"
        "import redis\n"
        "from tests.support import redis_server\n"
        "with redis_server() as url:\n"
        "    print(url, redis.Redis.from_url(url).ping())\n"
    )
    done = run([*empty_netns, PYTHON, "-c", probe], env={"PYTHONPATH": f"{BACKEND}:{ROOT}"})
    assert done.returncode == 0, done
    url, pong = done.stdout.split()
    assert pong == "True" and url.startswith("redis://127.0.0.1:") and ":6379/" not in url


def test_a_named_redis_that_does_not_answer_fails_saying_so() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    probe = f"{DJANGO}from tests.support import redis_server\nwith redis_server():\n    print('ran')\n"
    done = run([PYTHON, "-c", probe], env={"PYTHONPATH": f"{BACKEND}:{ROOT}", "REDIS_URL": url})
    assert done.returncode == 1 and "ran" not in done.stdout, done
    assert f"REDIS_URL={url} does not answer" in done.stderr
