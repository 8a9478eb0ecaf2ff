"""The admin's read-only view of requests (they change through apps.requests.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Request


@admin.register(Request)
class RequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "unit", "request_type", "status", "requester", "updated_at")
    list_filter = ("status", "request_type", "unit")
    search_fields = ("title", "requester__username")
