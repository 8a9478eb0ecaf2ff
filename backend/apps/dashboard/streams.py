"""The dashboard stream: staff and mentors read it."""

from typing import Any

from apps.accounts.models import User
from apps.realtime.streams import Stream, register


def user_can_read_dashboard(user: Any, **params: Any) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.role == User.Role.MENTOR))


# replay_latest: opening the dashboard shows the current KPIs without waiting for a change.
dashboard = register(
    Stream(
        "dashboard",
        route="dashboard/",
        can_read=user_can_read_dashboard,
        events=("dashboard.updated",),
        replay_latest=True,
    )
)
