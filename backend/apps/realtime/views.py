"""Operations endpoints: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse

from . import metrics
from .health import readiness


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> JsonResponse:
    ok, checks = await readiness()
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503)


async def metrics_view(request: HttpRequest) -> HttpResponse:
    metrics.asyncio_tasks.set(len(asyncio.all_tasks()))
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4")
