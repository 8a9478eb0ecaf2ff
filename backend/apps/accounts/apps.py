from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, units and memberships with roles; token, ticket and `me` endpoints."""

    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
