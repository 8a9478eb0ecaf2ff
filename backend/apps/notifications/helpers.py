"""
The real-time helpers of the notification system and the learning platform, in one place.
Each lives in its app's services.py; import them from here or from there. They are the
only way to publish these events, they work from views, services, signal receivers and
background tasks alike, and they publish after the current transaction commits (at once
outside one); a rolled-back change publishes nothing.

    from apps.notifications.helpers import notify_user, notify_dashboard

    notify_user(recipient=user, title="Export ready", body="3 files", level="success", sender=request.user)
    notify_dashboard()

- `notify_user(recipient=, title=, body=, level=, sender=, background=False)`:
  `notification.created` on `notifications.user.<id>`; with `background=True` a background
  task delivers it and also tells the sender `notification.status`.
- `notification_broadcast(sender=, title=, body=, level=)`: `notification.broadcast` on
  `notifications.all`, to every signed-in user.
- `notify_dashboard()`: `dashboard.updated` on `dashboard`, coalesced to about one per second.
- `notify_mentor(submission, actor=)`: `submission.created` on `academy.mentor.<id>`.
- `notify_student(submission, actor=)`: `submission.graded` on `academy.student.<id>`.
- `update_leaderboard(actor=)`: `leaderboard.updated` on `leaderboard`.
"""

from apps.academy.services import notify_mentor, notify_student, update_leaderboard
from apps.dashboard.services import notify_dashboard

from .services import notification_broadcast, notify_user

__all__ = (
    "notification_broadcast",
    "notify_dashboard",
    "notify_mentor",
    "notify_student",
    "notify_user",
    "update_leaderboard",
)
