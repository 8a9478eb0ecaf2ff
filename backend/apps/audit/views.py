from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_can_read_audit
from apps.core.api import IdField, query_filters

from .models import AuditEntry
from .serializers import AuditEntrySerializer


class AuditFilters(serializers.Serializer[Any]):
    unit = IdField()


class AuditListApi(APIView):
    """`GET /api/audit/?unit=<id>`: the unit's trail, newest first (admins, approvers, staff)."""

    @extend_schema(parameters=[AuditFilters], responses=AuditEntrySerializer(many=True))
    def get(self, request: Request) -> Response:
        unit_id = query_filters(request, AuditFilters)["unit"]
        if not user_can_read_audit(request.user, unit_id):
            raise exceptions.PermissionDenied("only the unit's admins and approvers, and staff, read its audit trail")
        entries = AuditEntry.objects.filter(unit_id=unit_id).select_related("actor")[:200]
        return Response(AuditEntrySerializer(entries, many=True).data)
