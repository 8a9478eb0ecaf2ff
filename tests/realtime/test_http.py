"""
The HTTP handler (apps/realtime/http.py): a sync view's request, middleware and signals
included, runs in one call on one of `HTTP_THREADS` long-lived threads; an async view on the
event loop. Driven through the ASGI interface, as the server drives it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from apps.realtime.http import AsgiHandler
from tests.support import BACKEND, PYTHON

seen: list[tuple[str, str]] = []  # (what ran, on which thread)


def _note(what: str) -> None:
    seen.append((what, threading.current_thread().name))


class Recorder:
    """A sync-only middleware, as most projects' own middleware is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _note("middleware")
        return self.get_response(request)


def sync_view(request: HttpRequest) -> HttpResponse:
    _note("view")
    return HttpResponse("sync")


def database_view(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(str(id(connection.connection)))


async def async_view(request: HttpRequest) -> HttpResponse:
    _note("async view")
    return HttpResponse("async")


def streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        for n in range(3):
            _note(f"chunk {n}")
            yield f"{n};".encode()

    return StreamingHttpResponse(chunks())


urlpatterns = [
    path("sync/", sync_view),
    path("database/", database_view),
    path("async/", async_view),
    path("streaming/", streaming_view),
]


@pytest.fixture
def handler(settings: Any) -> Iterator[AsgiHandler]:
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.Recorder"]
    settings.HTTP_THREADS = 2
    started = lambda **kwargs: _note("request_started")  # noqa: E731
    finished = lambda **kwargs: _note("request_finished")  # noqa: E731
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    seen.clear()
    yield AsgiHandler()
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


async def request(app: AsgiHandler, url: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    return start["status"], body


async def test_a_sync_view_its_middleware_and_its_signals_run_on_one_pool_thread(handler: AsgiHandler) -> None:
    assert await request(handler, "/sync/") == (200, b"sync")
    assert [what for what, _ in seen] == ["request_started", "middleware", "view", "request_finished"]
    threads = {thread for _, thread in seen}
    assert len(threads) == 1, seen
    assert threads.pop().startswith("http"), seen


async def test_requests_share_at_most_http_threads_threads(handler: AsgiHandler) -> None:
    results = await asyncio.gather(*(request(handler, "/sync/") for _ in range(8)))
    assert results == [(200, b"sync")] * 8
    assert len({thread for what, thread in seen if what == "view"}) <= 2, seen


@pytest.mark.django_db(transaction=True)
async def test_a_pool_thread_keeps_or_returns_its_connection_as_configured(handler: AsgiHandler, settings: Any) -> None:
    settings.HTTP_THREADS = 1
    one_thread = AsgiHandler()
    first, second = await request(one_thread, "/database/"), await request(one_thread, "/database/")
    assert first[0] == second[0] == 200
    still_open = await asyncio.wrap_future(one_thread._threads.submit(lambda: connection.connection is not None))
    if connection.vendor == "sqlite":  # DB_CONN_MAX_AGE 600 there: the thread keeps its connection
        assert still_open
        assert first[1] == second[1]
    else:  # Postgres: DB_CONN_MAX_AGE 0 and the pool, which request_finished hands it back to
        assert not still_open


async def test_an_async_view_runs_on_the_event_loop(handler: AsgiHandler) -> None:
    assert await request(handler, "/async/") == (200, b"async")
    assert ("async view", threading.current_thread().name) in seen


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
async def test_a_streaming_response_ends_its_request_after_its_last_chunk(handler: AsgiHandler) -> None:
    assert await request(handler, "/streaming/") == (200, b"0;1;2;")
    order = [what for what, _ in seen]
    assert order.index("request_finished") > order.index("chunk 2"), order


async def test_a_path_that_resolves_to_nothing_gets_its_404(handler: AsgiHandler) -> None:
    status, _ = await request(handler, "/nowhere/")
    assert status == 404
    assert [what for what, _ in seen] == ["request_started", "middleware", "request_finished"]


def test_http_threads_below_one_stops_the_settings() -> None:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "HTTP_THREADS": "0"}
    result = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()"],
        cwd=BACKEND,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "HTTP_THREADS must be 1 or more, got 0" in result.stderr
