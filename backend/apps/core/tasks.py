"""
Starting background tasks. `enqueue(task, *args)` is the one way to start a Celery task:

    from apps.core.tasks import enqueue
    enqueue(send_notification_task, notification.pk)

It waits for the current transaction to commit (a rolled-back change starts nothing, and
the task never runs before the rows it reads are visible), then:

- with a broker (`REDIS_URL` or `CELERY_BROKER_URL`): `task.delay(*args)`, a Celery worker runs it;
- embedded (`settings.CELERY_EMBEDDED`): a small thread pool of this process runs it, so the
  request that started it returns at once. Each job closes its database connections when
  it ends; a failure is logged, like a worker would.

Arguments must be what a broker can carry (ids, strings, numbers), in both modes alike.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from celery import Task
from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)

# Threads of the embedded pool: tasks are short and mostly wait on the database.
EMBEDDED_WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def enqueue(task: Task[..., Any], *args: Any) -> None:
    """Run `task(*args)` in the background once the current transaction commits."""
    # robust: the change is committed whatever happens here; a broker error is logged, not
    # turned into a failed request for a change that was saved.
    transaction.on_commit(partial(_start, task, args), robust=True)


def _start(task: Task[..., Any], args: tuple[Any, ...]) -> None:
    if settings.CELERY_EMBEDDED:
        _embedded_pool().submit(_run_embedded, task, args)
    else:
        task.delay(*args)


def _embedded_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=EMBEDDED_WORKERS, thread_name_prefix="embedded-task")
        return _pool


def _run_embedded(task: Task[..., Any], args: tuple[Any, ...]) -> None:
    try:
        # apply() runs the task here with Celery's request context (retries, bound tasks).
        task.apply(args=args, throw=True)
    except Exception:
        logger.exception("background task %s%r failed", task.name, args)
    finally:
        connections.close_all()
