"""Background tasks of the notification system (start them with `apps.core.tasks.enqueue`)."""

from celery import shared_task

from . import services


@shared_task(name="notifications.send_notification")
def send_notification_task(notification_id: int) -> None:
    """Deliver one notification and tell its sender the outcome (see services.notification_deliver)."""
    services.notification_deliver(notification_id=notification_id)
