"""
Django's HTTP requests under the ASGI server: a sync view's request in one thread hop.

Django's own ASGI handler runs every method of a sync middleware in a thread hop of its
own (about fifteen per request with the middleware of config/settings), and gives each
request a new thread, with a new database connection on SQLite. `AsgiHandler` runs a
request whose view is sync the way a threaded WSGI server does: from `request_started` to
`request_finished`, through the middleware chain built in sync mode, in one call on a pool
of `HTTP_THREADS` long-lived threads, whose connections follow `CONN_MAX_AGE` as under WSGI.
A view that is a coroutine (the SSE endpoints, the health checks) goes through Django's
async path unchanged. The response is sent from the event loop, as Django sends it.

Choosing the path resolves the URL against `ROOT_URLCONF` once more (Django resolves it again
in the chain): a path that resolves to nothing takes the sync path, to its 404 or redirect.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import Resolver404, get_resolver, set_script_prefix


def _view_is_sync(scope: dict[str, Any]) -> bool:
    prefix = get_script_prefix(scope)  # the path_info of Django's ASGIRequest
    path = scope["path"].removeprefix(prefix) if prefix else scope["path"]
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return True
    return not iscoroutinefunction(match.func)


class AsgiHandler(ASGIHandler):
    """Django's ASGI handler, with a sync view's request in one hop to a pool thread."""

    def __init__(self) -> None:
        super().__init__()
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)
        self._threads = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="http")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _view_is_sync(scope):
            await super().__call__(scope, receive, send)
            return
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await self._in_thread(self._respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:  # closed once its iterator is spent
                    await self._in_thread(response.close)
        finally:
            body_file.close()

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await sync_to_async(func, thread_sensitive=False, executor=self._threads)(*args)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The whole request on this thread; a complete response is closed here, so that
        `request_finished` (which ends the thread's database connections' request) runs on
        the thread that used them."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: Any = self._sync.get_response(request) if request is not None else error_response
        response._handler_class = self.__class__  # as Django's handler sets it
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response
