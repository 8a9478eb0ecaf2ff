"""
Database calls of the real-time paths: a handshake's credential and stream permission, and
revalidation of open connections.

`realtime_db(func)` is Channels' `database_sync_to_async` with one difference: the calls run
on a small pool of long-lived threads that keep their database connections between calls.
Channels closes the connection after every call unless `DB_CONN_MAX_AGE` keeps it, and
with a `DB_CONN_MAX_AGE` of 0 (then the default on every database, now Postgres's) opening
a connection was the largest cost of a handshake (a py-spy profile of a connect storm on
SQLite, docs/performance.md). These threads live as long as the process, and their
connections do too, whatever `DB_CONN_MAX_AGE` says; the HTTP request threads
(apps/realtime/http.py) follow it, as under WSGI. A handshake never waits for a free
request thread.

A kept connection may have died meanwhile (the database restarted, an idle timeout): each
call checks its connection before the first query, as Django's `CONN_HEALTH_CHECKS` does
(`SELECT 1` on Postgres, nothing on SQLite), and connects again if it no longer answers.
With Django's connection pool (Postgres, `DB_POOL`) a thread hands its connection back to
the pool after each call instead: the pool keeps it open and checks it when it is next taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connections

# Enough threads for a database with network latency (Postgres); one connection each.
THREADS = 4
_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="realtime-db")


def _keep_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if getattr(conn, "pool", None) is not None:
            conn.close()  # back to the pool, which checks it when it is taken again
            continue
        conn.close_at = None  # never obsolete: the thread outlives any request
        # Check it before the next call's first query (set here: connect() resets it).
        conn.health_check_enabled = True  # type: ignore[attr-defined]  # (not in django-stubs)
        conn.close_if_unusable_or_obsolete()  # after an error: closed if it no longer answers


class _RealtimeDb(SyncToAsync):
    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(func, thread_sensitive=False, executor=_executor)

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _keep_connections()


def realtime_db(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, callable with await from the event loop, run on the real-time database threads."""
    return _RealtimeDb(func)


def close_connections() -> None:
    """Close the connections of every real-time database thread (tests, before dropping a
    database). A connection belongs to its thread: each thread closes its own, and the
    barrier makes each of them take one of the calls."""
    barrier = threading.Barrier(THREADS)

    def close() -> None:
        barrier.wait(timeout=10)
        for conn in connections.all(initialized_only=True):
            conn.close()

    for future in [_executor.submit(close) for _ in range(THREADS)]:
        future.result()
