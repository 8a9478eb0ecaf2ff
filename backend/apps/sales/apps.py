from django.apps import AppConfig


class SalesConfig(AppConfig):
    """Invoices and their warehouse workflow: import, picking, packing, delivery."""

    name = "apps.sales"
    label = "sales"
