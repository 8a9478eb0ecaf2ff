"""Starting background jobs. `job_start` is the one way: a job record, then its Celery task."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.tasks import enqueue

from .models import Job
from .tasks import TASKS


@transaction.atomic
def job_start(*, actor: Any, task_type: str, total_items: int) -> Job:
    """A pending job of `actor`; its task starts once this transaction commits."""
    job = Job.objects.create(user=actor, task_type=task_type, total_items=total_items)
    enqueue(TASKS[task_type], str(job.job_id))
    return job
