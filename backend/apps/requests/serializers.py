from typing import Any

from rest_framework import serializers

from apps.documents.models import Crate
from apps.storage.models import StorageLocation

from .models import Comment, Request


class RequestSerializer(serializers.ModelSerializer[Request]):
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
            raise serializers.ValidationError({"crate": "must be a crate of the request's unit"})
        return attrs


class RequestUpdateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField(max_length=200, required=False)
    crate = serializers.PrimaryKeyRelatedField(queryset=Crate.objects.all(), allow_null=True, required=False)


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500)


class CommentSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(max_length=500)


class AllocateSerializer(serializers.Serializer[Any]):
    storage = serializers.PrimaryKeyRelatedField(queryset=StorageLocation.objects.all())


class RequestCommentSerializer(serializers.ModelSerializer[Comment]):
    """A comment as `GET /api/requests/{id}/comments/` lists it."""

    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Comment
        fields = ("id", "request", "author", "body", "created_at")
        read_only_fields = fields


class RequestCommentInSerializer(serializers.Serializer[Any]):
    """The body of a new comment, over REST and over a socket (`comment.create`)."""

    body = serializers.CharField(min_length=1, max_length=2000, trim_whitespace=True)
