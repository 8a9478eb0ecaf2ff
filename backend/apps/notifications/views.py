"""`/api/notifications/`: your own notifications; staff send notifications and broadcasts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import query_filters

from . import services
from .models import Notification
from .serializers import (
    BroadcastOutSerializer,
    BroadcastSerializer,
    NotificationFilters,
    NotificationSendSerializer,
    NotificationSerializer,
)

# The newest notifications the list returns.
LIST_LIMIT = 200


class NotificationListApi(APIView):
    """GET: the signed-in user's notifications, newest first. POST (staff): send one."""

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated(), IsAdminUser()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(parameters=[NotificationFilters], responses=NotificationSerializer(many=True))
    def get(self, request: Request) -> Response:
        notifications = Notification.objects.filter(recipient_id=request.user.pk).select_related("sender")
        if query_filters(request, NotificationFilters).get("unread"):
            notifications = notifications.filter(read_at__isnull=True)
        return Response(NotificationSerializer(notifications[:LIST_LIMIT], many=True).data)

    @extend_schema(request=NotificationSendSerializer, responses={202: NotificationSerializer})
    def post(self, request: Request) -> Response:
        body = NotificationSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        notification = services.notify_user(
            recipient=data["user"],
            title=data["title"],
            body=data["body"],
            level=data["level"],
            sender=request.user,
            background=True,
        )
        # 202: a background task delivers it; the sender's stream gets `notification.status`.
        return Response(NotificationSerializer(notification).data, status=status.HTTP_202_ACCEPTED)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = Notification.objects.filter(pk=pk, recipient_id=request.user.pk).first()
        if notification is None:
            raise exceptions.NotFound()
        return Response(NotificationSerializer(services.notification_mark_read(notification=notification)).data)


class BroadcastApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminUser]

    @extend_schema(request=BroadcastSerializer, responses={202: BroadcastOutSerializer})
    def post(self, request: Request) -> Response:
        body = BroadcastSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        broadcast = services.notification_broadcast(sender=request.user, **body.validated_data)
        return Response(broadcast, status=status.HTTP_202_ACCEPTED)
