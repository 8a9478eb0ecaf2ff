"""
What the background jobs do. Each works through its items one by one and reports through a
ProgressTracker (tracker.py); `run_job` wraps every job the same way:

- `send_start`, then the job's items: an item that cannot be done raises ItemFailed, is
  counted in `failed_items` and sent as a warning, and the job goes on;
- `send_complete` with the job's summary; any other exception stops the job: `send_error`,
  status `failed`, the exception logged.

The jobs work on the demo data (the invoices of apps.sales), going round them when
`total_items` is larger than the number of invoices:

- `email_sending`: renders each invoice email and sends it through Django's email backend
  (one connection for the whole job; a mail server that is down fails the job). A customer
  without an email address (walk-in sales) is a failed item.
- `edi_import`: writes the demo inbox of EDIFACT INVOIC files (edi.py; one in ten arrives
  truncated), then parses each file into an EdiRecord. A damaged file is a failed item.
- `report_generation`: writes a CSV report, one line per item, with VAT and gross amounts.
"""

from __future__ import annotations

import csv
import logging
import shutil
import smtplib
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string

from apps.sales.models import Invoice

from . import edi
from .conf import progress_setting
from .models import EdiRecord, Job
from .tracker import ProgressTracker

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Job, ProgressTracker], str]
VAT_RATE = Decimal("0.20")
# EdiRecords written per INSERT.
EDI_BATCH = 500


class ItemFailed(Exception):
    """One item could not be done; the job counts it, warns, and goes on."""


class JobError(Exception):
    """The job cannot run at all (say, nothing to work on)."""


def run_job(job_id: str, work: Work) -> None:
    """Run `work` for the job, reporting start, progress, warnings and the end."""
    job = Job.objects.select_related("user").filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s does not exist; nothing to run", job_id)
        return
    if job.finished:  # a redelivered task: the job has run already
        logger.info("job %s is %s already; not running it again", job_id, job.status)
        return
    tracker = ProgressTracker(job)
    what = job.get_task_type_display()
    tracker.send_start(f"Started {what}: {job.total_items} items")
    try:
        summary = work(job, tracker)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.task_type)
        tracker.send_error(f"Stopped {what} after {job.processed_items} of {job.total_items} items: {exc}")
        return
    tracker.send_complete(summary)


def each_item(tracker: ProgressTracker, items: Iterable[T], do: Callable[[T], None], noun: str) -> tuple[int, int]:
    """Do every item, reporting each; returns (succeeded, failed)."""
    total = tracker.job.total_items
    delay = progress_setting("ITEM_DELAY_MS") / 1000
    done = failed = 0
    for done, item in enumerate(items, start=1):
        try:
            do(item)
        except ItemFailed as exc:
            failed += 1
            tracker.send_warning(str(exc), processed=done, failed=failed)
        else:
            tracker.send_progress(done, failed=failed, message=f"{done} of {total} {noun}")
        if delay:
            time.sleep(delay)  # demo pacing (PROGRESS_ITEM_DELAY_MS), off by default
    return done - failed, failed


def _invoices() -> list[Invoice]:
    invoices = list(Invoice.objects.order_by("pk"))
    if not invoices:
        raise JobError("there are no invoices to work on (run seed_demo or import one)")
    return invoices


def _work_dir(job: Job) -> Path:
    directory = Path(settings.PROGRESS_WORK_DIR) / str(job.job_id)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# -- email_sending ---------------------------------------------------------------------------
def send_invoice_emails(job: Job, tracker: ProgressTracker) -> str:
    invoices = _invoices()
    with get_connection() as connection:  # opening fails when the mail server is down: the job fails

        def send(n: int) -> None:
            invoice = invoices[(n - 1) % len(invoices)]
            if not invoice.customer_email:
                raise ItemFailed(f"{invoice.number}: {invoice.customer} has no email address")
            context = {"invoice": invoice, "sender": job.user}
            subject = render_to_string("progress/emails/invoice_subject.txt", context).strip()
            body = render_to_string("progress/emails/invoice_body.txt", context)
            try:
                EmailMessage(subject, body, to=[invoice.customer_email], connection=connection).send()
            except smtplib.SMTPRecipientsRefused as exc:
                raise ItemFailed(f"{invoice.number}: the mail server refused {invoice.customer_email}") from exc

        sent, failed = each_item(tracker, range(1, job.total_items + 1), send, "emails")
    job.metadata["sent"] = sent
    return f"Sent {sent} invoice emails; {failed} could not be sent"


# -- edi_import --------------------------------------------------------------------------------
def import_edi_files(job: Job, tracker: ProgressTracker) -> str:
    inbox = _work_dir(job) / "edi-inbox"
    sources = [(i.number, i.customer, i.total) for i in _invoices()]
    files = edi.write_demo_inbox(inbox, job.total_items, sources)
    pending: list[EdiRecord] = []

    def read(path: Path) -> None:
        try:
            message = edi.parse_invoic(path.read_text(encoding="utf-8"))
        except edi.EdiError as exc:
            raise ItemFailed(f"{path.name}: {exc}") from exc
        pending.append(
            EdiRecord(
                job=job,
                file_name=path.name,
                number=message.number,
                customer=message.customer,
                total=message.total,
                currency=message.currency,
                segment_count=message.segment_count,
            )
        )
        if len(pending) >= EDI_BATCH:
            EdiRecord.objects.bulk_create(pending)
            pending.clear()

    try:
        imported, failed = each_item(tracker, files, read, "files")
        EdiRecord.objects.bulk_create(pending)
    finally:
        shutil.rmtree(inbox, ignore_errors=True)
    job.metadata["records"] = imported
    return f"Imported {imported} invoices from {job.total_items} EDI files; {failed} damaged"


# -- report_generation -------------------------------------------------------------------------
def generate_report(job: Job, tracker: ProgressTracker) -> str:
    invoices = _invoices()
    path = _work_dir(job) / "invoice-report.csv"
    cent = Decimal("0.01")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "invoice", "customer", "stage", "net", "vat", "gross"])
        net_sum = Decimal(0)

        def line(n: int) -> None:
            nonlocal net_sum
            invoice = invoices[(n - 1) % len(invoices)]
            vat = (invoice.total * VAT_RATE).quantize(cent)
            writer.writerow(
                [n, invoice.number, invoice.customer, invoice.stage, invoice.total, vat, invoice.total + vat]
            )
            net_sum += invoice.total

        lines, _ = each_item(tracker, range(1, job.total_items + 1), line, "lines")
        vat_sum = (net_sum * VAT_RATE).quantize(cent)
        writer.writerow(["total", "", "", "", net_sum, vat_sum, net_sum + vat_sum])
    job.metadata.update({"file": str(path), "rows": lines})
    return f"Report ready: {lines} lines in {path.name}"


WORK: dict[str, Work] = {
    Job.TaskType.EMAIL_SENDING: send_invoice_emails,
    Job.TaskType.EDI_IMPORT: import_edi_files,
    Job.TaskType.REPORT_GENERATION: generate_report,
}
