"""The record of one background job and how far it has got."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

COUNTERS = ("total_items", "processed_items", "failed_items", "success_count")


class Job(models.Model):
    class TaskType(models.TextChoices):
        EMAIL_SENDING = "email_sending", "sending invoice emails"
        EDI_IMPORT = "edi_import", "importing EDI files"
        REPORT_GENERATION = "report_generation", "generating a report"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        STARTED = "started", "started"
        COMPLETED = "completed", "completed"
        FAILED = "failed", "failed"

    job_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    task_type = models.CharField(max_length=32, choices=TaskType.choices)
    total_items = models.PositiveIntegerField(default=0)
    # processed = succeeded + failed
    processed_items = models.PositiveIntegerField(default=0)
    failed_items = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message = models.CharField(max_length=500, blank=True, default="")
    # What the job produced or met: the report's file, the warnings of failed items, ...
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.task_type} job {self.job_id} ({self.status})"

    @property
    def percent(self) -> float:
        """0-100, one decimal; a completed job is at 100."""
        if self.status == self.Status.COMPLETED:
            return 100.0
        if not self.total_items:
            return 0.0
        return round(min(self.processed_items, self.total_items) * 100 / self.total_items, 1)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)

    # -- state changes: each saves the counters with it ------------------------------------
    def _save(self, *fields: str) -> None:
        self.save(update_fields=[*COUNTERS, "message", "metadata", "updated_at", *fields])

    def mark_as_started(self, message: str = "") -> None:
        self.status, self.started_at, self.message = self.Status.STARTED, timezone.now(), message[:500]
        self._save("status", "started_at")

    def set_progress(
        self, *, processed: int, failed: int | None = None, message: str | None = None, **metadata: Any
    ) -> None:
        """Set the counts (absolute, never lowered) and the message, without saving; `metadata` is merged."""
        self.processed_items = max(self.processed_items, min(processed, self.total_items))
        if failed is not None:
            self.failed_items = max(self.failed_items, failed)
        self.success_count = max(0, self.processed_items - self.failed_items)
        if message is not None:
            self.message = message[:500]
        self.metadata.update(metadata)

    def update_progress(
        self, *, processed: int, failed: int | None = None, message: str | None = None, **metadata: Any
    ) -> None:
        """`set_progress` and save."""
        self.set_progress(processed=processed, failed=failed, message=message, **metadata)
        self._save()

    def mark_as_completed(self, message: str = "") -> None:
        self.status, self.completed_at, self.message = self.Status.COMPLETED, timezone.now(), message[:500]
        self._save("status", "completed_at")

    def mark_as_failed(self, message: str) -> None:
        self.status, self.completed_at, self.message = self.Status.FAILED, timezone.now(), message[:500]
        self._save("status", "completed_at")


class EdiRecord(models.Model):
    """One invoice read from an EDI (EDIFACT INVOIC) file by an `edi_import` job."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="edi_records")
    file_name = models.CharField(max_length=200)
    number = models.CharField(max_length=50)
    customer = models.CharField(max_length=200)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    segment_count = models.PositiveIntegerField()

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"EDI invoice {self.number} from {self.file_name}"
