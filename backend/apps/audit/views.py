from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_can_read_audit
from apps.core.api import int_param

from .models import AuditEntry
from .serializers import AuditEntrySerializer


class AuditListApi(APIView):
    """`GET /api/audit/?unit=<id>`: the unit's trail, newest first (admins, approvers, staff)."""

    def get(self, request: Request) -> Response:
        unit_id = int_param(request, "unit")
        if unit_id is None:
            raise exceptions.ValidationError({"unit": "this query parameter is required"})
        if not user_can_read_audit(request.user, unit_id):
            raise exceptions.PermissionDenied("only the unit's admins and approvers, and staff, read its audit trail")
        entries = AuditEntry.objects.filter(unit_id=unit_id).select_related("actor")[:200]
        return Response(AuditEntrySerializer(entries, many=True).data)
