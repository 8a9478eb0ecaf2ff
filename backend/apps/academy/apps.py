"""App configuration."""

from django.apps import AppConfig


class AcademyConfig(AppConfig):
    """The learning platform: students submit work, their mentor grades it, a live leaderboard."""

    name = "apps.academy"
    label = "academy"
