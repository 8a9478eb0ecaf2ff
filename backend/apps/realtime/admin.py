"""The admin's view of the outbox: events not yet published (the relay owns the rows)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "stream", "created_at", "attempts", "claimed_until")
    search_fields = ("stream",)
