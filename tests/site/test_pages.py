"""The site's own pages: the front door, the favicon, signing out, and the admin's records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from apps.core.admin import ReadOnlyAdmin
from tests.support import Demo

# The project's records the admin shows read-only (they change only through their services).
READ_ONLY = {
    "requests.request",
    "requests.comment",
    "documents.crate",
    "storage.storagelocation",
    "audit.auditentry",
    "notifications.notification",
    "progress.job",
    "progress.edirecord",
    "sales.invoice",
    "academy.submission",
    "realtime.outboxevent",
}


def a_record(label: str, demo: Demo) -> Any:
    """One of the records the demo data may not have, made directly."""
    from apps.academy.models import Submission
    from apps.audit.models import AuditEntry
    from apps.notifications.models import Notification
    from apps.progress.models import EdiRecord, Job
    from apps.realtime.models import OutboxEvent
    from apps.requests.models import Comment, Request

    def job() -> Job:
        return Job.objects.create(user=demo.user("alice"), task_type=Job.TaskType.EDI_IMPORT, total_items=1)

    make: dict[str, Callable[[], Any]] = {
        "audit.auditentry": lambda: AuditEntry.objects.create(
            unit=demo.unit("North"), actor=demo.user("nina"), action="updated", object_type="crate", object_id=1
        ),
        "academy.submission": lambda: Submission.objects.create(
            student=demo.user("stella"), mentor=demo.user("mentor"), title="Essay"
        ),
        "notifications.notification": lambda: Notification.objects.create(recipient=demo.user("alice"), title="Hi"),
        "progress.job": job,
        "progress.edirecord": lambda: EdiRecord.objects.create(
            job=job(), file_name="a.edi", number="INV-1", customer="ACME", total=10, currency="EUR", segment_count=9
        ),
        "realtime.outboxevent": lambda: OutboxEvent.objects.create(stream="invoices", payload="{}"),
        "requests.comment": lambda: Comment.objects.create(
            request=Request.objects.first(), author=demo.user("alice"), body="Box 12"
        ),
    }
    assert label in make, f"the demo data has no {label}"
    return make[label]()


def signed_in(demo: Demo, username: str) -> Client:
    client = Client()
    client.force_login(demo.user(username))
    return client


def test_the_front_door_is_the_demo_app(client: Client) -> None:
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/app/")


def test_the_favicon_is_served_at_the_root_and_from_static(client: Client) -> None:
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(ico.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"


@pytest.mark.django_db
def test_the_django_pages_link_the_favicon(client: Client) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.content.decode()


def test_signing_out_lands_on_the_sign_in_page(demo: Demo) -> None:
    client = signed_in(demo, "alice")
    assert client.get("/jobs/").status_code == 200
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert client.get("/jobs/").status_code == 302  # signed out: back to the sign-in page
    admin_client = signed_in(demo, "admin")
    response = admin_client.post("/admin/logout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")


def test_every_model_of_the_project_is_in_the_admin() -> None:
    project = {
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model in apps.get_models()
        if model.__module__.startswith("apps.")
    }
    registered = {f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry}
    assert project - registered == set()
    read_only = {
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ReadOnlyAdmin)
    }
    assert read_only == READ_ONLY


@pytest.mark.parametrize("label", sorted(READ_ONLY))
def test_the_admin_lists_and_shows_a_record_but_changes_nothing(demo: Demo, label: str) -> None:
    model = apps.get_model(label)
    obj = model.objects.first() or a_record(label, demo)
    client = signed_in(demo, "admin")
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    detail = client.get(f"{base}{obj.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()  # a view, not a form
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{obj.pk}/change/", {}).status_code == 403
    assert client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
