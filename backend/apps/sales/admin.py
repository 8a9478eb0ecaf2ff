"""The admin's read-only view of invoices (their workflow runs through apps.sales.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("id", "number", "customer", "total", "stage", "updated_at")
    list_filter = ("stage",)
    search_fields = ("number", "customer")
