"""
The built demo app (`frontend/demo/dist`, settings.FRONTEND_DIST) served at /app/.

A file of the build is served as itself; any other path under /app/ gets index.html, so the
app's client-side routes survive a reload. Daphne serves no files, so Django does, with DEBUG
on or off. Without a build /app/ answers 404 saying how to make one; the rest of the backend
runs as usual.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import re_path
from django.views.decorators.http import require_safe

NOT_BUILT = (
    "The front end is not built: run `cd frontend && npm ci && npm run build` "
    "(`make run` does it when npm is installed), then reload this page.\n"
)
# The types of what a Vite build holds, fixed here rather than left to the machine's mime.types
# (scripts as text/javascript, RFC 9239); anything else is guessed from its name.
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".wasm": "application/wasm",
}
# Vite puts a hash of the content in every asset's name: a changed file gets a new name.
ASSET_CACHE = "public, max-age=31536000, immutable"


def serve_file(path: Path, cache_control: str) -> HttpResponse:
    # The build's files are small: read whole rather than streamed with a sync iterator under ASGI.
    content_type = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"  # Vite writes UTF-8
    response = HttpResponse(path.read_bytes(), content_type=content_type)
    response["Cache-Control"] = cache_control
    return response


@require_safe
def demo_app(request: HttpRequest, path: str = "") -> HttpResponse:
    dist = Path(settings.FRONTEND_DIST).resolve()
    index = dist / "index.html"
    if not index.is_file():
        return HttpResponseNotFound(NOT_BUILT, content_type="text/plain; charset=utf-8")
    if path:
        try:
            # resolve() follows `..` and symlinks: a path that lands outside the build is refused.
            wanted = (dist / path).resolve()
            if not wanted.is_relative_to(dist):
                return HttpResponseNotFound("Not found.\n", content_type="text/plain")
            found = wanted.is_file()
        except (OSError, ValueError):  # a NUL byte, a name too long for the file system
            return HttpResponseNotFound("Not found.\n", content_type="text/plain")
        if found:
            return serve_file(wanted, ASSET_CACHE if wanted.is_relative_to(dist / "assets") else "no-cache")
        if path.startswith("assets/"):
            # A missing script answered with index.html would fail in the browser as a MIME error.
            return HttpResponseNotFound("No such asset in the front-end build.\n", content_type="text/plain")
    # index.html names the current assets: the browser must check it on every load.
    return serve_file(index, "no-cache")


urlpatterns = [re_path(r"^(?P<path>.*)$", demo_app, name="demo-app")]
