"""The admin's view of the audit trail: a record of what happened, never edited."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "unit", "actor", "action", "object_type", "object_id")
    list_filter = ("object_type", "action", "unit")
    search_fields = ("actor__username",)
