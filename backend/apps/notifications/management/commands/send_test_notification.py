"""
`manage.py send_test_notification --user-id N [--title T] [--body B]`: notify one user the way
the staff API does (a background task delivers it), or `--broadcast` to every signed-in user.

Run from the command line in the embedded mode (no REDIS_URL), this process cannot reach the
sockets of the running server: it delivers at once, which leaves the events in the database's
outbox, and the server's relay publishes them within ~3 s. It prints one line: what was sent,
to which stream, and who delivers it when.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.notifications.models import Notification
from apps.notifications.services import notification_broadcast, notify_user
from apps.notifications.streams import all_notifications, user_notifications
from apps.realtime.conf import realtime_settings
from apps.realtime.publish import RELAY_AFTER, hand_off_to_server

# The server's relay publishes a row RELAY_AFTER after its commit, at its next pass (one a second).
QUEUED_FOR_THE_SERVER = f"queued in the outbox, delivered by the running server within ~{RELAY_AFTER.seconds + 1} s"


def sent_to(notification: Notification, stream: str) -> str:
    return f"notification #{notification.pk} for {notification.recipient.username} to {stream}"


class Command(BaseCommand):
    help = "Send a test notification to --user-id N, or to every signed-in user with --broadcast."
    handed_off = False  # run from the command line in the embedded mode

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--user-id", type=int, help="the recipient's user id")
        target.add_argument("--broadcast", action="store_true", help="to everyone signed in (notifications.all)")
        parser.add_argument("--title", default="Test notification")
        parser.add_argument("--body", default="Sent with manage.py send_test_notification.")
        parser.add_argument("--level", choices=Notification.Level.values, default=Notification.Level.INFO)

    def run_from_argv(self, argv: list[str]) -> None:
        # From the command line (not call_command, which runs inside a process that may serve).
        if realtime_settings.channel_layer == "memory":
            hand_off_to_server()
            self.handed_off = True
        super().run_from_argv(argv)

    def handle(
        self, *args: Any, user_id: int | None, broadcast: bool, title: str, body: str, level: str, **options: Any
    ) -> None:
        if broadcast:
            sent = notification_broadcast(sender=None, title=title, body=body, level=level)
            stream = all_notifications.name()
            if self.handed_off:
                self.stdout.write(f"broadcast {sent['id']} to {stream} {QUEUED_FOR_THE_SERVER}")
            else:
                self.stdout.write(f"broadcast {sent['id']} published to {stream}")
            return
        if user_id is None:  # argparse asks for one of the two already
            raise CommandError("give --user-id N or --broadcast")
        recipient = get_user_model().objects.filter(pk=user_id).first()
        if recipient is None:
            raise CommandError(f"no user with id {user_id} (see `manage.py seed_demo` for demo users)")
        if not recipient.is_active:
            raise CommandError(f"user {user_id} ({recipient.username}) is inactive and cannot be notified")
        stream = user_notifications.name(user_id=recipient.pk)
        if self.handed_off:
            # No worker and no socket here: deliver now, which leaves the event in the outbox
            # for the running server (a background task of this short-lived process would only
            # do the same a moment later, and log a Celery "succeeded" line with no Celery running).
            notification = notify_user(recipient=recipient, title=title, body=body, level=level)
            self.stdout.write(f"{sent_to(notification, stream)} {QUEUED_FOR_THE_SERVER}")
            return
        notification = notify_user(recipient=recipient, title=title, body=body, level=level, background=True)
        where = "a background task of this process" if settings.CELERY_EMBEDDED else "a Celery worker"
        self.stdout.write(f"{sent_to(notification, stream)} queued; {where} delivers it")
