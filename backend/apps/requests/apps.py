from django.apps import AppConfig


class RequestsConfig(AppConfig):
    """Storage, withdrawal and destruction requests and their approval workflow."""

    name = "apps.requests"
    label = "requests"
