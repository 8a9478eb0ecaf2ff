"""Auth endpoints: JWT pair and refresh (simplejwt), WebSocket tickets, `me`."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.realtime.auth import issue_ticket

from .models import User
from .serializers import MeSerializer, TicketSerializer


class MeApi(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(cast(User, request.user)).data)


class WsTicketApi(APIView):
    """A one-time ticket to open a socket without putting a JWT in its URL."""

    @extend_schema(request=None, responses=TicketSerializer)
    def post(self, request: Request) -> Response:
        token: Any = request.auth
        expires_at = float(token["exp"]) if token is not None and "exp" in token else None
        ticket, ttl = issue_ticket(request.user, expires_at)
        return Response({"ticket": ticket, "expires_in": ttl})
