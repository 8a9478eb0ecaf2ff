"""apps.core.tasks.enqueue: background tasks start after commit and never block the caller."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from celery import shared_task
from django.db import transaction

from apps.core.tasks import enqueue

pytestmark = pytest.mark.django_db(transaction=True)

started, release, finished = threading.Event(), threading.Event(), threading.Event()
runs: list[tuple[str, str]] = []


@shared_task(name="tests.notifications.blocking_task")
def blocking_task(marker: str) -> None:
    started.set()
    release.wait(5)
    runs.append((marker, threading.current_thread().name))
    finished.set()


@pytest.fixture(autouse=True)
def fresh_events() -> Any:
    for flag in (started, release, finished):
        flag.clear()
    runs.clear()
    yield
    release.set()  # never leave a pool thread waiting


def test_embedded_mode_runs_the_task_in_a_pool_thread_after_commit_without_blocking(settings: Any) -> None:
    settings.CELERY_EMBEDDED = True
    with transaction.atomic():
        enqueue(blocking_task, "first")
        assert not started.wait(0.2), "the task started before the transaction committed"
    assert started.wait(5), "the task did not start after commit"
    assert not finished.is_set(), "enqueue waited for the task"
    release.set()
    assert finished.wait(5)
    assert runs[0][0] == "first" and runs[0][1].startswith("embedded-task")


def test_a_rolled_back_transaction_starts_nothing(settings: Any) -> None:
    settings.CELERY_EMBEDDED = True
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(blocking_task, "never")
        raise RuntimeError("the caller fails")
    assert not started.wait(0.3)


def test_with_a_broker_the_task_is_sent_to_the_workers_after_commit(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_EMBEDDED = False
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(blocking_task, "delay", lambda *args: sent.append(args))
    with transaction.atomic():
        enqueue(blocking_task, "queued")
        assert sent == []
    assert sent == [("queued",)]
    assert not started.is_set(), "with a broker the task must not run in this process"
