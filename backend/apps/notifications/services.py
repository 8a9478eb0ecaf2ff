"""
Notifying people. `notify_user` is the one way to notify a person; `notification_broadcast`
tells everyone who is signed in.

A notification is created `pending` and then delivered: marked `sent` and published as
`notification.created` on the recipient's stream (`notifications.user.<id>`), or marked
`failed` when the recipient cannot receive it (an inactive account). Delivery happens
either

- when the caller's transaction commits (the default): the notification is part of a
  change, like a request sent back, and reaches the recipient with it; or
- in a background task (`background=True`, what the staff API and `send_test_notification`
  use): `send_notification_task` calls `notification_deliver`, which also publishes the
  outcome as `notification.status` on the sender's stream, since the sender is waiting
  for it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.api import represent
from apps.core.tasks import enqueue
from apps.dashboard.services import notify_dashboard
from apps.realtime.events import now_iso
from apps.realtime.publish import publish_on_commit

from . import tasks
from .events import NotificationBroadcast, NotificationCreated, NotificationStatus
from .models import Notification
from .serializers import NotificationSerializer
from .streams import all_notifications, user_notifications

logger = logging.getLogger(__name__)
Status = Notification.Status


@transaction.atomic
def notify_user(
    *,
    recipient: Any,
    title: str,
    body: str = "",
    level: str = Notification.Level.INFO,
    sender: Any = None,
    background: bool = False,
) -> Notification:
    """
    Notify `recipient`. By default the notification is delivered when the current
    transaction commits; with `background=True` a background task delivers it and tells
    the sender the outcome (`notification.status`). Returns the notification as created
    (`sent`/`failed` by default, `pending` with `background=True`).
    """
    notification = Notification.objects.create(
        recipient=recipient, sender=sender, title=title, body=body, level=level, status=Status.PENDING
    )
    if background:
        enqueue(tasks.send_notification_task, notification.pk)
    else:
        _deliver(notification, report_to_sender=False)
    notify_dashboard()
    return notification


def notification_deliver(*, notification_id: int) -> Notification | None:
    """
    Deliver a pending notification and report the outcome to its sender (what
    `send_notification_task` does). A notification that is no longer pending is left as it
    is, so a task that runs twice delivers once. If delivery raises, the notification is
    marked `failed` (and the sender told) before the error propagates to the task runner.
    """
    try:
        with transaction.atomic():
            notification = _pending(notification_id)
            if notification is not None:
                _deliver(notification, report_to_sender=True)
    except Exception:
        logger.exception("delivering notification %s failed; marking it failed", notification_id)
        with transaction.atomic():
            notification = _pending(notification_id)
            if notification is not None:
                _deliver(notification, report_to_sender=True, failed=True)
        raise
    finally:
        notify_dashboard()
    return notification


def _pending(notification_id: int) -> Notification | None:
    return (
        Notification.objects.select_for_update()
        .select_related("recipient", "sender")
        .filter(pk=notification_id, status=Status.PENDING)
        .first()
    )


def _deliver(notification: Notification, *, report_to_sender: bool, failed: bool = False) -> None:
    delivered = not failed and notification.recipient.is_active
    notification.status = Status.SENT if delivered else Status.FAILED
    notification.save(update_fields=["status"])
    data = represent(NotificationSerializer, notification)
    sender = notification.sender.username if notification.sender is not None else None
    if delivered:
        publish_on_commit(
            user_notifications.name(user_id=notification.recipient_id),
            NotificationCreated(action="created", object_id=notification.pk, data=data, updated_by=sender),
        )
    if report_to_sender and notification.sender_id is not None:
        publish_on_commit(
            user_notifications.name(user_id=notification.sender_id),
            NotificationStatus(
                action=notification.status,
                object_id=notification.pk,
                status=notification.status,
                data=data,
                updated_by=sender,
            ),
        )


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark read (once; reading again keeps the first time)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_broadcast(
    *, sender: Any, title: str, body: str = "", level: str = Notification.Level.INFO
) -> dict[str, Any]:
    """
    Tell every signed-in user (`notification.broadcast` on `notifications.all`). A
    broadcast reaches the sockets open now and is not stored per user; it gets a UUID as
    its id. Returns the broadcast as the event's `data`.
    """
    broadcast_id = str(uuid.uuid4())
    broadcast = {
        "id": broadcast_id,
        "sender": sender.username if sender is not None else None,
        "title": title,
        "body": body,
        "level": level,
        "created_at": now_iso(),
    }
    publish_on_commit(
        all_notifications.name(),
        NotificationBroadcast(action="created", object_id=broadcast_id, data=broadcast, updated_by=broadcast["sender"]),
    )
    return broadcast
