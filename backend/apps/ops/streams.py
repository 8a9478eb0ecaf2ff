"""The operations stream: staff read it; a subscriber first gets the latest figures."""

from typing import Any

from apps.realtime.streams import Stream, register


def user_is_staff(user: Any, **params: Any) -> bool:
    return bool(user.is_authenticated and user.is_staff)


ops = register(Stream("ops", route="ops/", can_read=user_is_staff, events=("ops.updated",), replay_latest=True))
