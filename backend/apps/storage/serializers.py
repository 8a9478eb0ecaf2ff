from typing import Any

from rest_framework import serializers

from apps.core.api import IdField, StrictInput

from .models import StorageLocation


class StorageLocationSerializer(StrictInput, serializers.ModelSerializer[StorageLocation]):
    class Meta:
        model = StorageLocation
        fields = ("id", "unit", "name", "location", "capacity", "updated_at")
        read_only_fields: tuple[str, ...] = ("updated_at",)


class StorageLocationUpdateSerializer(StorageLocationSerializer):
    class Meta(StorageLocationSerializer.Meta):
        read_only_fields = ("unit", "updated_at")


class StorageFilters(serializers.Serializer[Any]):
    """`GET /api/storage/?unit=`."""

    unit = IdField(required=False)
