from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """Crates of documents, kept in a unit's storage locations."""

    name = "apps.documents"
    label = "documents"
