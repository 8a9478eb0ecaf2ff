"""The admin's read-only view of crates (they change through apps.documents.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Crate


@admin.register(Crate)
class CrateAdmin(ReadOnlyAdmin):
    list_display = ("id", "code", "unit", "storage", "updated_at")
    list_filter = ("unit",)
    search_fields = ("code", "description")
