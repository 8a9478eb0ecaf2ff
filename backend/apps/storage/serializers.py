from rest_framework import serializers

from .models import StorageLocation


class StorageLocationSerializer(serializers.ModelSerializer[StorageLocation]):
    class Meta:
        model = StorageLocation
        fields = ("id", "unit", "name", "location", "capacity", "updated_at")
        read_only_fields: tuple[str, ...] = ("updated_at",)


class StorageLocationUpdateSerializer(StorageLocationSerializer):
    class Meta(StorageLocationSerializer.Meta):
        read_only_fields = ("unit", "updated_at")
