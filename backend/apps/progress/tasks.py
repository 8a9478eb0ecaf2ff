"""
The Celery tasks of the progress jobs. Start them with `services.job_start`, which goes
through `apps.core.tasks.enqueue` (after commit; a Celery worker, or the in-process pool in
the embedded default). Each takes the job id and runs the job's work (jobs.py).
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from .jobs import WORK, run_job
from .models import Job


@shared_task(name="progress.send_invoice_emails")
def send_invoice_emails(job_id: str) -> None:
    run_job(job_id, WORK[Job.TaskType.EMAIL_SENDING])


@shared_task(name="progress.import_edi_files")
def import_edi_files(job_id: str) -> None:
    run_job(job_id, WORK[Job.TaskType.EDI_IMPORT])


@shared_task(name="progress.generate_report")
def generate_report(job_id: str) -> None:
    run_job(job_id, WORK[Job.TaskType.REPORT_GENERATION])


TASKS: dict[str, Task[..., Any]] = {
    Job.TaskType.EMAIL_SENDING: send_invoice_emails,
    Job.TaskType.EDI_IMPORT: import_edi_files,
    Job.TaskType.REPORT_GENERATION: generate_report,
}
