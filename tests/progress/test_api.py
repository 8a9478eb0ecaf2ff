"""`/api/progress/jobs/`: start a job (202 at once, through the one enqueue helper) and read jobs."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.progress import services, tasks
from apps.progress.models import Job
from tests.support import Demo

pytestmark = pytest.mark.django_db(transaction=True)

CONTRACT_FIELDS = {
    "job_id",
    "task_type",
    "status",
    "total_items",
    "processed_items",
    "failed_items",
    "success_count",
    "percent",
    "message",
    "metadata",
    "created_at",
    "started_at",
    "completed_at",
}


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, tuple[Any, ...]]]:
    """What job_start hands to apps.core.tasks.enqueue (the jobs do not run here)."""
    calls: list[tuple[Any, tuple[Any, ...]]] = []
    monkeypatch.setattr(services, "enqueue", lambda task, *args: calls.append((task, args)))
    return calls


@pytest.mark.parametrize(
    ("task_type", "task"),
    [
        ("email_sending", tasks.send_invoice_emails),
        ("edi_import", tasks.import_edi_files),
        ("report_generation", tasks.generate_report),
    ],
)
def test_starting_a_job_answers_202_with_its_id_and_enqueues_its_task(
    demo: Demo, enqueued: list[Any], task_type: str, task: Any
) -> None:
    reply = demo.api("alice").post("/api/progress/jobs/", {"task_type": task_type, "total_items": 50}, format="json")
    assert reply.status_code == 202, reply.content
    body = reply.json()
    assert set(body) == {"job_id", "total"} and body["total"] == 50
    assert enqueued == [(task, (body["job_id"],))]
    job = Job.objects.get(pk=body["job_id"])
    assert (job.user.username, job.task_type, job.status, job.total_items) == ("alice", task_type, "pending", 50)


@pytest.mark.parametrize(
    "body",
    [
        {"task_type": "mining", "total_items": 5},
        {"task_type": "report_generation", "total_items": 0},
        {"task_type": "report_generation", "total_items": 100_001},
        {"task_type": "report_generation"},
    ],
)
def test_a_bad_job_request_answers_400_and_starts_nothing(
    demo: Demo, enqueued: list[Any], body: dict[str, Any]
) -> None:
    reply = demo.api("alice").post("/api/progress/jobs/", body, format="json")
    assert reply.status_code == 400
    assert enqueued == [] and not Job.objects.exists()


def test_a_job_reads_with_exactly_the_contract_fields(demo: Demo) -> None:
    job = Job.objects.create(user=demo.user("alice"), task_type="edi_import", total_items=8, processed_items=2)
    reply = demo.api("alice").get(f"/api/progress/jobs/{job.job_id}/")
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == CONTRACT_FIELDS
    assert (body["job_id"], body["status"], body["percent"], body["processed_items"]) == (
        str(job.job_id),
        "pending",
        25.0,
        2,
    )
    listed = demo.api("alice").get("/api/progress/jobs/").json()
    assert [j["job_id"] for j in listed] == [str(job.job_id)] and set(listed[0]) == CONTRACT_FIELDS


def test_a_job_is_its_owners_and_staffs_only(demo: Demo) -> None:
    job = Job.objects.create(user=demo.user("alice"), task_type="edi_import", total_items=8)
    assert demo.api("bob").get(f"/api/progress/jobs/{job.job_id}/").status_code == 404
    assert demo.api("bob").get("/api/progress/jobs/").json() == []
    assert demo.api("admin").get(f"/api/progress/jobs/{job.job_id}/").status_code == 200
    assert APIClient().get("/api/progress/jobs/").status_code == 401
    assert APIClient().post("/api/progress/jobs/", {"task_type": "edi_import", "total_items": 1}).status_code == 401


def test_the_jobs_page_needs_a_signed_in_user(demo: Demo) -> None:
    from django.test import Client

    client = Client()
    reply = client.get("/jobs/")
    assert reply.status_code == 302 and reply["Location"] == "/accounts/login/?next=/jobs/"
    login = client.get(reply["Location"])
    assert login.status_code == 200 and b'name="password"' in login.content
    assert client.login(username="alice", password="demo-pass-123")
    page = client.get("/jobs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="job-progress"' in html and "/static/progress/sse_progress.js" in html
    assert client.get("/static/progress/sse_progress.js").status_code == 200
