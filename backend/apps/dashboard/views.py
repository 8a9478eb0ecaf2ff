"""`GET /api/dashboard/`: the KPIs now (staff and mentors), as the `dashboard` stream carries them."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import dashboard_kpis
from .streams import user_can_read_dashboard


class DashboardApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        if not user_can_read_dashboard(request.user):
            raise exceptions.PermissionDenied("the dashboard is for staff and mentors")
        return Response(dashboard_kpis())
