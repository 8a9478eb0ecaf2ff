from django.apps import AppConfig


class StorageConfig(AppConfig):
    """Storage locations of a unit, where crates are kept."""

    name = "apps.storage"
    label = "storage"
