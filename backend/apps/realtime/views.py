"""Operations endpoints (liveness, readiness, metrics) and `GET /api/presence/`."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.schema import ERROR, VALIDATION_ERROR

from . import metrics
from .connection import Refused, resolve_stream
from .health import readiness
from .presence import get_store


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> JsonResponse:
    ok, checks = await readiness()
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503)


async def metrics_view(request: HttpRequest) -> HttpResponse:
    metrics.asyncio_tasks.set(len(asyncio.all_tasks()))
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4")


class PresenceApi(APIView):
    """`GET /api/presence/?stream=<name>`: who is subscribed to a presence stream, with the
    stream's read permission (403 and 404 as for subscribing)."""

    @extend_schema(
        parameters=[OpenApiParameter("stream", str, required=True, description="A presence stream: requests.unit.1")],
        responses={
            200: inline_serializer(
                "PresenceListing",
                {
                    "stream": serializers.CharField(),
                    "rev": serializers.IntegerField(),
                    "members": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: VALIDATION_ERROR,
            403: ERROR,
            404: ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        name = request.query_params.get("stream")
        if not name:
            raise exceptions.ValidationError({"stream": ["this query parameter is required"]})
        try:
            stream, name, params = resolve_stream(name)
        except Refused as refused:
            raise exceptions.NotFound(refused.detail) from None
        if not stream.presence:
            raise exceptions.NotFound("this stream has no presence")
        if not stream.can_read(request.user, **params):
            raise exceptions.PermissionDenied("not allowed on this stream")
        return Response(get_store().state_sync(name).listing(name))
