"""
`/ops/` (staff): the operations page, live over the `ops` stream through the product's own
client; `/api/ops/` the same figures, `/api/ops/events/?stream=` a stream's last events, and
`POST /api/ops/disconnect/` `{user}` ends a user's sockets (4401) and SSE responses everywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.api import query_filters
from apps.core.frontend import serve_file
from apps.core.schema import ERROR

from . import services
from .serializers import DisconnectIn, DisconnectOut, EventsOut, EventsQuery, TokenOut

# The framework-free client's build (`npm run build` in frontend/), which the page imports.
CLIENT_DIST = settings.REPO_DIR / "frontend" / "packages" / "client" / "dist"


def access_token(user: Any) -> str:
    """For the page's socket: the signed-in staff user's own access token."""
    return str(AccessToken.for_user(user))


class StaffOnly(LoginRequiredMixin, UserPassesTestMixin):
    """Signed out: to the login page; signed in but not staff: 403."""

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)  # type: ignore[attr-defined]


class OpsPage(StaffOnly, TemplateView):
    template_name = "ops/page.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["access"] = access_token(self.request.user)
        context["built"] = (CLIENT_DIST / "index.js").is_file()
        return context


class OpsTokenApi(APIView):
    """POST (the page's session): a fresh access token for the page's socket."""

    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(request=None, responses=TokenOut)
    def post(self, request: Request) -> Response:
        return Response({"access": access_token(request.user)})


def client_file(request: HttpRequest, path: str) -> HttpResponse:
    """A file of the client's build, for the page's `import` (staff only, like the page)."""
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404
    dist = CLIENT_DIST.resolve()
    try:
        target = (dist / path).resolve()  # follows `..` and symlinks: outside the build is refused
        found = target.is_relative_to(dist) and target.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise Http404
    return serve_file(target, "no-cache")


class OpsApi(APIView):
    """GET: the figures of every server process, added up."""

    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(services.snapshot())


class OpsEventsApi(APIView):
    """GET `?stream=<name>[&limit=N]`: the newest events the history holds for a stream."""

    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(parameters=[EventsQuery], responses=EventsOut)
    def get(self, request: Request) -> Response:
        query = query_filters(request, EventsQuery)
        stream, params = query["stream"]
        canonical = stream.name(**params)
        return Response({"stream": canonical, "events": services.last_events(canonical, query["limit"])})


class OpsDisconnectApi(APIView):
    """POST `{user}`: close every socket (4401) and SSE response of that user, in every process."""

    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(request=DisconnectIn, responses={202: DisconnectOut, 404: ERROR})
    def post(self, request: Request) -> Response:
        body = DisconnectIn(data=request.data)
        body.is_valid(raise_exception=True)
        user_id = body.validated_data["user"]
        if not get_user_model().objects.filter(pk=user_id).exists():
            raise exceptions.NotFound("no such user")
        try:
            services.disconnect_user(user_id)
        except Exception as exc:
            raise exceptions.APIException(f"the servers could not be reached: {exc}") from exc
        return Response(
            {"user": user_id, "detail": "disconnect sent to every server process"}, status=status.HTTP_202_ACCEPTED
        )
