from typing import Any

from rest_framework import serializers

from apps.core.api import IdField, RelatedId, StrictInput
from apps.documents.models import Crate
from apps.storage.models import StorageLocation

from .models import Request


class RequestSerializer(StrictInput, serializers.ModelSerializer[Request]):
    requester: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Request
        fields = (
            "id",
            "unit",
            "request_type",
            "title",
            "crate",
            "storage",
            "status",
            "requester",
            "reason",
            "comment",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("storage", "status", "reason", "comment", "created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unit = attrs.get("unit") or (self.instance.unit if self.instance else None)
        crate = attrs.get("crate")
        if crate is not None and unit is not None and crate.unit_id != unit.pk:
            raise serializers.ValidationError({"crate": ["must be a crate of the request's unit"]})
        return attrs


class RequestUpdateSerializer(StrictInput):
    id = IdField()
    title = serializers.CharField(max_length=200, required=False)
    crate = RelatedId(queryset=Crate.objects.all(), allow_null=True, required=False)


class ReasonSerializer(StrictInput):
    reason = serializers.CharField(max_length=500)


class CommentSerializer(StrictInput):
    comment = serializers.CharField(max_length=500)


class AllocateSerializer(StrictInput):
    storage = RelatedId(queryset=StorageLocation.objects.all())


class RequestFilters(serializers.Serializer[Any]):
    """`GET /api/requests/?unit=&status=`."""

    unit = IdField(required=False)
    status = serializers.ChoiceField(choices=Request.Status.choices, required=False, allow_blank=True)
