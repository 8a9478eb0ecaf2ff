"""Streams of the notification system: each user's own and the broadcasts."""

from typing import Any

from apps.realtime.streams import Route, Stream, register, register_route


def user_is_self(user: Any, user_id: int) -> bool:
    return bool(user.is_authenticated and user.pk == user_id)


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
