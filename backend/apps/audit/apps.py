from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail of requests, crates and storage: who, when, action, object, changes."""

    name = "apps.audit"
    label = "audit"
