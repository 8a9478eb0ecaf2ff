from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Personal notifications and broadcasts."""

    name = "apps.notifications"
    label = "notifications"
