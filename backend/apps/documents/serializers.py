from typing import Any

from rest_framework import serializers

from apps.core.api import IdField, RelatedId, StrictInput
from apps.storage.models import StorageLocation

from .models import Crate


class CrateSerializer(StrictInput, serializers.ModelSerializer[Crate]):
    class Meta:
        model = Crate
        fields = ("id", "unit", "code", "description", "storage", "updated_at")
        read_only_fields: tuple[str, ...] = ("updated_at",)
        # The code's uniqueness in the unit is checked in validate(), as an error of `code`.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unit = attrs.get("unit") or (self.instance.unit if self.instance else None)
        storage = attrs.get("storage")
        if storage is not None and unit is not None and storage.unit_id != unit.pk:
            raise serializers.ValidationError({"storage": ["must be a storage location of the crate's unit"]})
        code = attrs.get("code")
        others = Crate.objects.exclude(pk=self.instance.pk) if self.instance else Crate.objects.all()
        if code is not None and unit is not None and others.filter(unit=unit, code=code).exists():
            raise serializers.ValidationError({"code": ["a crate with this code exists in the unit"]})
        return attrs


class CrateUpdateSerializer(CrateSerializer):
    class Meta(CrateSerializer.Meta):
        read_only_fields = ("unit", "updated_at")


class RelocateSerializer(StrictInput):
    storage = RelatedId(queryset=StorageLocation.objects.all())


class CrateFilters(serializers.Serializer[Any]):
    """`GET /api/documents/crates/?unit=`."""

    unit = IdField(required=False)
