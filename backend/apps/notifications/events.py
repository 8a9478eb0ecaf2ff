"""Events of the notification system: personal notifications, their delivery status, broadcasts."""

from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event

_NOTIFICATION = {
    "id": 5,
    "recipient": 2,
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
