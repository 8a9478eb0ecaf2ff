"""The admin's read-only view of storage locations (they change through apps.storage.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import StorageLocation


@admin.register(StorageLocation)
class StorageLocationAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "unit", "location", "capacity", "updated_at")
    list_filter = ("unit",)
    search_fields = ("name", "location")
