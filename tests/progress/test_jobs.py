"""The three jobs, their tracker and their stream, in process: events over WebSocket, records in the database."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.progress import edi, tasks
from apps.progress.models import EdiRecord, Job
from apps.progress.tracker import ProgressTracker
from apps.realtime.events import validate
from apps.realtime.ids import parse
from tests.support import Demo, connect, free_port, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)

INVOICES = 5  # seeded by seed_demo; INV-1003 (the walk-in customer, no email address) is the third


@pytest.fixture(autouse=True)
def work_dir(settings: Any, tmp_path: Path) -> Path:
    settings.PROGRESS_WORK_DIR = tmp_path
    return tmp_path


def new_job(demo: Demo, task_type: str, total: int, username: str = "alice") -> str:
    job = Job.objects.create(user=demo.user(username), task_type=task_type, total_items=total)
    return str(job.job_id)


async def watch(demo: Demo, job_id: str, username: str = "alice", wait: bool = True) -> WebsocketCommunicator:
    """A socket on the job's stream. `wait`: return once it is subscribed (a ping round trip,
    which skips what came before the pong: use wait=False to read the latest state)."""
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(f"/ws/progress/{job_id}/?token={token}")
    assert accepted
    if wait:
        await ready(ws)
    return ws


async def until_the_end(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Every event up to and including `complete` or `error`, each validated."""
    events = []
    while True:
        event = await receive(ws, timeout=20)
        validate(event)
        events.append(event)
        if event["action"] in ("complete", "error"):
            return events


def in_order(events: list[dict[str, Any]]) -> None:
    keys = [parse(e["id"]) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "ids increase strictly"
    percents = [e["percent"] for e in events]
    assert percents == sorted(percents), f"percent never goes backwards: {percents}"


async def test_an_email_job_streams_start_progress_warnings_and_completion_in_order(
    layer: str, demo: Demo, mailoutbox: list[Any]
) -> None:
    total = 40
    job_id = await sync_to_async(new_job)(demo, "email_sending", total)
    ws = await watch(demo, job_id)
    await sync_to_async(tasks.send_invoice_emails)(job_id)
    events = await until_the_end(ws)
    in_order(events)
    assert events[0]["action"] == "start" and events[0]["status"] == "started"
    assert {e["action"] for e in events[1:-1]} <= {"progress", "warning"}
    last = events[-1]
    assert (last["action"], last["status"], last["percent"], last["current"], last["total"]) == (
        "complete",
        "completed",
        100.0,
        total,
        total,
    )
    assert all(e["job_id"] == job_id and e["stream"] == f"progress.job.{job_id}" for e in events)
    walk_ins = len([n for n in range(total) if n % INVOICES == 2])
    warnings = [e for e in events if e["action"] == "warning"]
    assert len(warnings) == walk_ins and all("INV-1003" in w["message"] for w in warnings)
    assert (last["data"]["failed_items"], last["data"]["success_count"]) == (walk_ins, total - walk_ins)
    assert len(mailoutbox) == total - walk_ins
    assert mailoutbox[0].subject == "Invoice INV-1001 from Syncline Warehouse"
    assert "INV-1001" in mailoutbox[0].body and mailoutbox[0].to == ["billing@acme.example"]
    job = await Job.objects.aget(pk=job_id)
    assert (job.status, job.processed_items, job.failed_items, job.success_count) == (
        "completed",
        total,
        walk_ins,
        total - walk_ins,
    )
    assert job.started_at is not None and job.completed_at is not None
    assert len(job.metadata["warnings"]) == walk_ins
    await ws.disconnect()


async def test_a_ten_thousand_item_job_sends_about_ten_progress_frames_a_second(memory_layer: str, demo: Demo) -> None:
    total = 10_000
    job_id = await sync_to_async(new_job)(demo, "report_generation", total)
    ws = await watch(demo, job_id)
    started = time.monotonic()
    await sync_to_async(tasks.generate_report)(job_id)
    elapsed = time.monotonic() - started
    events = await until_the_end(ws)
    in_order(events)
    ticks = [e for e in events if e["action"] == "progress"]
    assert 1 <= len(ticks) <= elapsed * 10 + 2, (len(ticks), elapsed)
    assert events[0]["action"] == "start" and events[-1]["action"] == "complete"
    assert events[-1]["current"] == total
    await ws.disconnect()


async def test_a_late_subscriber_first_gets_the_latest_state(memory_layer: str, demo: Demo) -> None:
    job_id = await sync_to_async(new_job)(demo, "report_generation", 25)
    await sync_to_async(tasks.generate_report)(job_id)
    ws = await watch(demo, job_id, wait=False)  # after the job has finished
    first = await receive(ws)
    validate(first)
    assert (first["action"], first["status"], first["percent"], first["current"]) == (
        "complete",
        "completed",
        100.0,
        25,
    )
    assert await nothing_more(ws)
    await ws.disconnect()


async def test_a_subscriber_in_the_middle_gets_the_state_then_the_rest(memory_layer: str, demo: Demo) -> None:
    job_id = await sync_to_async(new_job)(demo, "report_generation", 10)

    def start_and_tick() -> ProgressTracker:
        tracker = ProgressTracker(Job.objects.select_related("user").get(pk=job_id))
        tracker.send_start("starting")
        tracker.send_progress(4, message="4 of 10")
        return tracker

    tracker = await sync_to_async(start_and_tick)()
    ws = await watch(demo, job_id, wait=False)
    latest = await receive(ws)
    assert (latest["action"], latest["current"], latest["percent"]) == ("progress", 4, 40.0)
    tracker.interval = 0  # no coalescing: every tick goes out
    await sync_to_async(tracker.send_progress)(7)
    await sync_to_async(tracker.send_progress)(10)
    await sync_to_async(tracker.send_complete)("done")
    rest = [await receive(ws) for _ in range(3)]
    assert [(e["action"], e["current"]) for e in rest] == [("progress", 7), ("progress", 10), ("complete", 10)]
    in_order([latest, *rest])
    await ws.disconnect()


async def test_percent_never_goes_backwards(memory_layer: str, demo: Demo) -> None:
    job_id = await sync_to_async(new_job)(demo, "report_generation", 100)

    def report() -> None:
        tracker = ProgressTracker(Job.objects.select_related("user").get(pk=job_id))
        tracker.interval = 0
        tracker.send_start()
        tracker.send_progress(60)
        tracker.send_progress(30)  # a stale count from a late item
        tracker.send_warning("item 61 skipped", processed=61, failed=1)

    ws = await watch(demo, job_id)
    await sync_to_async(report)()
    events = [await receive(ws) for _ in range(4)]
    assert [(e["action"], e["percent"], e["current"]) for e in events] == [
        ("start", 0.0, 0),
        ("progress", 60.0, 60),
        ("progress", 60.0, 60),
        ("warning", 61.0, 61),
    ]
    assert events[-1]["message"] == "item 61 skipped"
    await ws.disconnect()


async def test_a_crash_ends_the_job_with_an_error_event_and_a_failed_record(
    memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch, work_dir: Path
) -> None:
    calls = {"n": 0}
    parse_invoic = edi.parse_invoic

    def failing_disk(text: str) -> edi.Invoic:
        calls["n"] += 1
        if calls["n"] == 12:
            raise OSError("disk read error")
        return parse_invoic(text)

    monkeypatch.setattr(edi, "parse_invoic", failing_disk)
    job_id = await sync_to_async(new_job)(demo, "edi_import", 30)
    ws = await watch(demo, job_id)
    await sync_to_async(tasks.import_edi_files)(job_id)
    events = await until_the_end(ws)
    in_order(events)
    error = events[-1]
    assert (error["action"], error["status"]) == ("error", "failed")
    assert "disk read error" in error["message"] and error["current"] == 11 and error["percent"] < 100
    assert "complete" not in {e["action"] for e in events}
    assert [e["message"] for e in events if e["action"] == "warning"] == [
        "invoic-000010.edi: truncated: no UNT segment"
    ]
    assert await nothing_more(ws)
    job = await Job.objects.aget(pk=job_id)
    assert (job.status, job.processed_items, job.failed_items) == ("failed", 11, 1)
    assert "disk read error" in job.message and job.completed_at is not None
    assert not (work_dir / job_id / "edi-inbox").exists(), "the inbox is removed whatever happens"
    await ws.disconnect()


async def test_a_mail_server_that_is_down_fails_the_email_job(memory_layer: str, demo: Demo, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    job_id = await sync_to_async(new_job)(demo, "email_sending", 10)
    ws = await watch(demo, job_id)
    await sync_to_async(tasks.send_invoice_emails)(job_id)
    events = await until_the_end(ws)
    assert [e["action"] for e in events] == ["start", "error"]
    assert events[-1]["status"] == "failed" and "after 0 of 10 items" in events[-1]["message"]
    assert (await Job.objects.aget(pk=job_id)).status == "failed"
    await ws.disconnect()


def test_the_edi_import_reads_every_sound_file_into_a_record(demo: Demo, work_dir: Path) -> None:
    total = 25
    job_id = new_job(demo, "edi_import", total)
    tasks.import_edi_files(job_id)
    job = Job.objects.get(pk=job_id)
    damaged = total // edi.DAMAGED_EVERY
    assert (job.status, job.processed_items, job.failed_items, job.success_count) == (
        "completed",
        total,
        damaged,
        total - damaged,
    )
    records = list(EdiRecord.objects.filter(job_id=job_id))
    assert len(records) == total - damaged == job.metadata["records"]
    assert (records[0].file_name, records[0].number, records[0].customer, str(records[0].total)) == (
        "invoic-000001.edi",
        "INV-1001",
        "Acme Ltd",
        "1250.00",
    )
    assert records[0].segment_count == 7 and records[0].currency == "EUR"
    assert not (work_dir / job_id / "edi-inbox").exists()


def test_the_report_job_writes_a_csv_line_per_item_and_totals(demo: Demo) -> None:
    job_id = new_job(demo, "report_generation", 12)
    tasks.generate_report(job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == "completed" and job.metadata["rows"] == 12
    with Path(job.metadata["file"]).open(newline="") as report:
        rows = list(csv.reader(report))
    assert rows[0] == ["line", "invoice", "customer", "stage", "net", "vat", "gross"]
    assert rows[1] == ["1", "INV-1001", "Acme Ltd", "imported", "1250.00", "250.00", "1500.00"]
    assert len(rows) == 14 and rows[-1][0] == "total"


def test_a_finished_job_is_not_run_again(demo: Demo) -> None:
    job_id = new_job(demo, "report_generation", 3)
    tasks.generate_report(job_id)
    finished = Job.objects.get(pk=job_id)
    tasks.generate_report(job_id)  # a redelivered task
    assert Job.objects.get(pk=job_id).completed_at == finished.completed_at


def test_the_edi_reader_honours_release_characters_and_checks_the_segment_count() -> None:
    from datetime import date
    from decimal import Decimal

    text = edi.render_invoic(
        reference="1", number="INV-9", customer="O'Brien+Sons: ?", total=Decimal("12.5"), issued=date(2026, 1, 2)
    )
    assert edi.parse_invoic(text) == edi.Invoic("INV-9", "O'Brien+Sons: ?", Decimal("12.50"), "EUR", 7)
    with pytest.raises(edi.EdiError, match="UNT says 8 segments"):
        edi.parse_invoic(text.replace("UNT+7+1", "UNT+8+1"))
    with pytest.raises(edi.EdiError, match="not an EDIFACT message"):
        edi.parse_invoic("hello")
