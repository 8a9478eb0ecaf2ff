"""App config: connects the signal handlers when Django is ready."""

from django.apps import AppConfig


class BoardConfig(AppConfig):
    """The announcements app."""

    name = "board"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the `post_save` broadcast."""
        from board import signals  # noqa: F401
