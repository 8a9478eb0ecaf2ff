from django.apps import AppConfig


class ProgressConfig(AppConfig):
    """Long background jobs (invoice emails, EDI imports, reports) and their live progress."""

    name = "apps.progress"
    label = "progress"
