"""Postgres connections come from Django's pool (DB_POOL): under DB_CONN_MAX_AGE=0 every
HTTP request would otherwise open a connection."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import BACKEND, PYTHON

PRINT_POOL = (
    "import django, json; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; print(json.dumps([d['OPTIONS'].get('pool'), d['CONN_HEALTH_CHECKS']]))"
)


def _database_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DB_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://app@db.example:5432/syncline",  # never connected to
        **env,
    }
    return subprocess.run(
        [PYTHON, "-c", PRINT_POOL], cwd=BACKEND, env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "pool"),
    [
        ({}, {"min_size": 2, "max_size": 10, "timeout": 10}),
        ({"DB_POOL": "4"}, {"min_size": 2, "max_size": 4, "timeout": 10}),
        ({"DB_POOL": "0"}, None),
        ({"DB_CONN_MAX_AGE": "60"}, None),  # persistent connections instead (Django allows one or the other)
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, None),
    ],
)
def test_the_pool_is_on_for_postgres_unless_turned_off(env: dict[str, str], pool: dict[str, int] | None) -> None:
    result = _database_settings(**env)
    assert result.returncode == 0, result.stderr[-2000:]
    found, health_checks = json.loads(result.stdout)
    assert found == pool
    assert health_checks is (pool is not None), "the pool checks each connection it hands out"


def test_a_pool_size_that_is_no_number_stops_the_settings() -> None:
    result = _database_settings(DB_POOL="ten")
    assert result.returncode != 0
    assert "DB_POOL must be an integer, got 'ten'" in result.stderr
