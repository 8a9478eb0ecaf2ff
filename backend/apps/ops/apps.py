from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operations page: what the real-time layer is doing in every process, live; disconnect a user."""

    name = "apps.ops"
    label = "ops"
