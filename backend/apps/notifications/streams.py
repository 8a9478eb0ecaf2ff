"""Streams of the notification system: each user's own, the broadcasts, and the health probe."""

from typing import Any

from apps.realtime.streams import Route, Stream, register, register_route


def user_is_self(user: Any, user_id: int) -> bool:
    return bool(user.is_authenticated and user.pk == user_id)


def nobody(user: Any, **params: Any) -> bool:
    return False


user_notifications = register(
    Stream(
        "notifications.user.{user_id:int}",
        route="notifications/{user_id}/",
        can_read=user_is_self,
        events=("notification.created", "notification.status"),
    )
)
all_notifications = register(Stream("notifications.all", events=("notification.broadcast",)))

# `/ws/notifications/`: the signed-in user's own stream and the broadcasts.
register_route(
    Route("notifications/", lambda user, raw: [(user_notifications, {"user_id": user.pk}), (all_notifications, {})])
)

# `manage.py test_websocket` publishes here and reads it back through its own hub.
health_probe = register(Stream("health.probe.{probe_id:uuid}", can_read=nobody, events=("health.probe",)))
