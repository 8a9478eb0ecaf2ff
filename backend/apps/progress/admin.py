"""The admin's read-only view of background jobs and the EDI records they import (written by the jobs)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import EdiRecord, Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "task_type", "user", "status", "processed_items", "total_items", "created_at")
    list_filter = ("status", "task_type")
    search_fields = ("user__username",)


@admin.register(EdiRecord)
class EdiRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "number", "customer", "total", "currency", "file_name", "job")
    search_fields = ("number", "customer")
