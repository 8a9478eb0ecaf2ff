"""The admin's read-only view of submissions (made and graded through apps.academy.services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Submission


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "student", "mentor", "status", "score", "created_at")
    list_filter = ("status",)
    search_fields = ("title", "student__username")
