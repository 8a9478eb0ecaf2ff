"""The admin's read-only view of notifications (sent through apps.notifications.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "recipient", "sender", "level", "status", "created_at", "read_at")
    list_filter = ("status", "level")
    search_fields = ("title", "recipient__username")
