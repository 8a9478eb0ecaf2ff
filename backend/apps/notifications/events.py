"""Events of the notification system: personal notifications, their delivery status, broadcasts."""

from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event

_NOTIFICATION = {
    "id": 5,
    "user": 2,
    "sender": "alice",
    "title": "Request sent back",
    "body": "Please add the crate number.",
    "level": "warning",
    "status": "sent",
    "created_at": "2026-11-21T12:34:56.789Z",
    "read_at": None,
}
_BROADCAST = {
    "id": "0b7f3c1e-6a55-4c1b-9d4e-2f1a7c9e8b10",
    "sender": "admin",
    "title": "Maintenance at 18:00",
    "body": "The archive is read-only for ten minutes.",
    "level": "info",
    "created_at": "2026-11-21T12:34:56.789Z",
}


@register_event
@dataclass(kw_only=True)
class NotificationCreated(Event):
    type: ClassVar[str] = "notification.created"
    entity: ClassVar[str] = "notification"
    description: ClassVar[str] = "A notification for the stream's user was delivered."
    example: ClassVar[dict[str, Any]] = {
        "action": "created",
        "object_id": 5,
        "updated_by": "alice",
        "data": _NOTIFICATION,
    }


@register_event
@dataclass(kw_only=True)
class NotificationStatus(Event):
    type: ClassVar[str] = "notification.status"
    entity: ClassVar[str] = "notification"
    description: ClassVar[str] = (
        "The outcome of delivering a notification the stream's user sent through the API or "
        "`send_test_notification` (delivered by a background task). `action` and `status`: "
        "`sent`, or `failed` (the recipient is inactive, or delivery raised)."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "sent",
        "object_id": 5,
        "status": "sent",
        "updated_by": "admin",
        "data": {**_NOTIFICATION, "sender": "admin"},
    }

    status: str


@register_event
@dataclass(kw_only=True)
class NotificationBroadcast(Event):
    type: ClassVar[str] = "notification.broadcast"
    entity: ClassVar[str] = "notification"
    description: ClassVar[str] = (
        "A notification to every signed-in user (stream `notifications.all`). It is not stored "
        "per user: `notification_id` is a UUID string, unlike personal notifications' integer ids."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "created",
        "object_id": _BROADCAST["id"],
        "updated_by": "admin",
        "data": _BROADCAST,
    }


@register_event
@dataclass(kw_only=True)
class HealthProbe(Event):
    type: ClassVar[str] = "health.probe"
    entity: ClassVar[str] = "probe"
    internal: ClassVar[bool] = True  # no client receives it: left out of docs and client types
    description: ClassVar[str] = (
        "Sent by `manage.py test_websocket` to a stream of its own to check the publish path "
        "end to end; no client can subscribe to it."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "ping",
        "object_id": "5d0c1f0e-8f0b-4a8e-9c1e-3b2a1d4c5e6f",
        "data": {"host": "web-1", "pid": 4242},
    }
