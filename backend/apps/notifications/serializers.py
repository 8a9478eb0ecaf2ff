"""Notification payloads: what the API returns and events carry, and the staff inputs."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    sender: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Notification
        fields = ("id", "recipient", "sender", "title", "body", "level", "status", "created_at", "read_at")


class NotificationSendSerializer(serializers.Serializer[Any]):
    """`POST /api/notifications/` (staff): `{user, title, body, level?}`."""

    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, default="")
    level = serializers.ChoiceField(choices=Notification.Level.choices, default=Notification.Level.INFO)


class BroadcastSerializer(serializers.Serializer[Any]):
    """`POST /api/notifications/broadcast/` (staff): `{title, body, level?}`."""

    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, default="")
    level = serializers.ChoiceField(choices=Notification.Level.choices, default=Notification.Level.INFO)
