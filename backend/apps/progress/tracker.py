"""
ProgressTracker: how a background job reports what it is doing, to its record and to
everyone watching its stream (`progress.job.<job_id>`, SSE `progress-<job_id>`).

    tracker = ProgressTracker(job)
    tracker.send_start("Sending 200 invoice emails")
    for n, item in enumerate(items, start=1):
        ...
        tracker.send_progress(n, failed=failed, message=f"{n} of 200")   # coalesced
        tracker.send_warning("INV-1003: no email address", processed=n, failed=failed)
    tracker.send_complete("Sent 198, 2 failed")        # or tracker.send_error("SMTP server down")

- `send_progress` is coalesced: at most PROGRESS["MAX_UPDATES_PER_SECOND"] progress events
  per job (a 10,000-item job does not send 10,000 frames); the counts are kept and go out
  with the next event that is sent. Ticks are no database change of their own: they save
  the counts and `publish` at once, and a tick that cannot be published is dropped (the
  next one carries the whole state).
- `send_start`, `send_warning`, `send_complete` and `send_error` are always sent; each
  saves the record and publishes with `publish_on_commit` in the same transaction.
- `percent` never goes backwards on the stream.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

from apps.core.api import represent
from apps.realtime.publish import publish, publish_on_commit

from .conf import progress_setting
from .events import ProgressUpdated
from .models import Job
from .serializers import JobSerializer
from .streams import job_progress

logger = logging.getLogger(__name__)

# Warnings kept in the job's metadata (the stream carries every one of them).
KEPT_WARNINGS = 50


class ProgressTracker:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.stream = job_progress.name(job_id=job.job_id)
        self.username = job.user.username
        self.interval = 1.0 / max(1, int(progress_setting("MAX_UPDATES_PER_SECOND")))
        self._last_tick = float("-inf")
        self._percent = 0.0

    def _event(self, action: str, message: str | None = None) -> ProgressUpdated:
        job = self.job
        self._percent = max(self._percent, job.percent)
        data = represent(JobSerializer, job)
        data["percent"] = self._percent
        return ProgressUpdated(
            action=action,
            object_id=str(job.job_id),
            current=job.processed_items,
            total=job.total_items,
            percent=self._percent,
            status=job.status,
            message=job.message if message is None else message,
            data=data,
            updated_by=self.username,
        )

    def send_start(self, message: str = "") -> None:
        with transaction.atomic():
            self.job.mark_as_started(message)
            publish_on_commit(self.stream, self._event("start"))

    def send_progress(self, processed: int, *, failed: int | None = None, message: str | None = None) -> bool:
        """Record the counts; publish them unless an event went out less than `interval` ago.
        Returns whether an event was sent."""
        self.job.set_progress(processed=processed, failed=failed, message=message)
        now = time.monotonic()
        if now - self._last_tick < self.interval:
            return False
        self._last_tick = now
        self.job.update_progress(processed=processed, failed=failed, message=message)
        try:
            publish(self.stream, self._event("progress"))
        except Exception as exc:  # history or transport away: this tick is lost, not the job
            logger.warning("progress tick of job %s not published: %s", self.job.job_id, exc)
            return False
        return True

    def send_warning(self, message: str, *, processed: int | None = None, failed: int | None = None) -> None:
        """Something went wrong with one item; the job goes on. Kept in metadata["warnings"]."""
        job = self.job
        warnings = [*job.metadata.get("warnings", []), message][-KEPT_WARNINGS:]
        with transaction.atomic():
            job.update_progress(
                processed=job.processed_items if processed is None else processed, failed=failed, warnings=warnings
            )
            publish_on_commit(self.stream, self._event("warning", message))

    def send_complete(self, message: str = "") -> None:
        with transaction.atomic():
            self.job.mark_as_completed(message)
            publish_on_commit(self.stream, self._event("complete"))

    def send_error(self, message: str) -> None:
        with transaction.atomic():
            self.job.mark_as_failed(message)
            publish_on_commit(self.stream, self._event("error"))
