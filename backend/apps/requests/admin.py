"""The admin's read-only view of requests and their comments (they change through apps.requests.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Comment, Request


@admin.register(Request)
class RequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "unit", "request_type", "status", "requester", "updated_at")
    list_filter = ("status", "request_type", "unit")
    search_fields = ("title", "requester__username")


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "author", "created_at")
    search_fields = ("body", "author__username")
