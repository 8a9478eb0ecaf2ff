"""Notification payloads: what the API returns and events carry, and the staff inputs."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.core.api import RelatedId, StrictInput

from .models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    # `user`, as `POST /api/notifications/` names the recipient.
    user: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        source="recipient", read_only=True
    )
    sender: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Notification
        fields = ("id", "user", "sender", "title", "body", "level", "status", "created_at", "read_at")


class NotificationSendSerializer(StrictInput):
    """`POST /api/notifications/` (staff): `{user, title, body, level?}`."""

    user = RelatedId(queryset=get_user_model().objects.filter(is_active=True))
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, default="")
    level = serializers.ChoiceField(choices=Notification.Level.choices, default=Notification.Level.INFO)


class BroadcastSerializer(StrictInput):
    """`POST /api/notifications/broadcast/` (staff): `{title, body, level?}`."""

    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, default="")
    level = serializers.ChoiceField(choices=Notification.Level.choices, default=Notification.Level.INFO)


class NotificationFilters(serializers.Serializer[Any]):
    """`GET /api/notifications/?unread=true`."""

    unread = serializers.BooleanField(required=False)


class BroadcastOutSerializer(serializers.Serializer[Any]):
    """A broadcast as sent: the `data` of `notification.broadcast`."""

    id = serializers.UUIDField()
    sender = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    level = serializers.ChoiceField(choices=Notification.Level.choices)
    created_at = serializers.DateTimeField()
