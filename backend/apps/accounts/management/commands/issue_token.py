"""Print an access JWT for a user, for wscat and curl."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework_simplejwt.tokens import AccessToken


class Command(BaseCommand):
    help = "Print an access JWT for --username (for wscat and curl)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r} (run `manage.py seed_demo` for the demo users)")
        self.stdout.write(str(AccessToken.for_user(user)))
