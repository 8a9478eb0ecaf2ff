"""The request workflow over REST: rules, isolation, events, audit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.db import transaction

from apps.audit.models import AuditEntry
from apps.realtime.history import get_history
from apps.realtime.testing import Capture, capture_events
from apps.requests import services
from apps.requests.models import Request
from tests.support import Demo

pytestmark = pytest.mark.django_db(transaction=True)


def events_of(stream: str) -> list[dict[str, Any]]:
    """Every event the stream's history holds, oldest first."""
    return [json.loads(frame) for _, frame in asyncio.run(get_history().entries(stream))]


def pending_north(demo: Demo) -> Request:
    request = Request.objects.filter(unit=demo.unit("North"), status="pending").first()
    assert request is not None
    return request


def test_bob_creates_and_alice_approves(memory_layer: str, demo: Demo, realtime_events: Capture) -> None:
    north = demo.unit("North")
    created = demo.api("bob").post("/api/requests/", {"unit": north.pk, "request_type": "storage", "title": "Boxes"})
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending" and created.json()["requester"] == "bob"
    approved = demo.api("alice").post(f"/api/requests/{created.json()['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    stream = f"requests.unit.{north.pk}"
    assert [e["action"] for e in realtime_events.on(stream)] == ["created", "approved"]
    event = realtime_events.assert_published(stream, type="request.updated", action="approved", status="approved")
    assert event["request_id"] == created.json()["id"] and event["updated_by"] == "alice"
    assert [e["action"] for e in events_of(stream)] == ["created", "approved"]  # and the history holds them


def test_a_transition_not_allowed_answers_409_and_publishes_nothing(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    assert demo.api("alice").post(f"/api/requests/{request.pk}/reject/", {"reason": "no"}).status_code == 200
    with capture_events() as events:
        response = demo.api("alice").post(f"/api/requests/{request.pk}/approve/")
    assert response.status_code == 409
    assert "rejected" in response.json()["detail"]
    events.assert_nothing_published(f"requests.unit.{request.unit_id}")
    events.assert_nothing_published(f"requests.item.{request.pk}")


def test_other_units_requests_are_404(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    carol = demo.api("carol")
    assert carol.get(f"/api/requests/{request.pk}/").status_code == 404
    assert carol.post(f"/api/requests/{request.pk}/approve/").status_code == 404
    assert all(r["unit"] == demo.unit("South").pk for r in carol.get("/api/requests/").json())
    response = carol.post("/api/requests/", {"unit": request.unit_id, "request_type": "storage", "title": "x"})
    assert response.status_code == 400


def test_requesters_may_not_approve(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    assert demo.api("bob").post(f"/api/requests/{request.pk}/approve/").status_code == 403


def test_the_full_workflow_publishes_each_step(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    storage = demo.unit("North").storage_locations.first()
    alice, sam = demo.api("alice"), demo.api("sam")
    assert alice.post(f"/api/requests/{request.pk}/approve/").status_code == 200
    assert sam.post(f"/api/requests/{request.pk}/allocate-storage/", {"storage": storage.pk}).status_code == 200
    assert sam.post(f"/api/requests/{request.pk}/issue/").status_code == 200
    assert sam.post(f"/api/requests/{request.pk}/return/").status_code == 200
    mine = [e for e in events_of(f"requests.unit.{request.unit_id}") if e["request_id"] == request.pk]
    assert [e["action"] for e in mine] == ["approved", "storage_allocated", "issued", "returned"]
    assert mine[-1]["status"] == "returned" and mine[1]["data"]["storage"] == storage.pk


def test_allocating_another_units_storage_is_refused(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    demo.api("alice").post(f"/api/requests/{request.pk}/approve/")
    foreign = demo.unit("South").storage_locations.first()
    response = demo.api("sam").post(f"/api/requests/{request.pk}/allocate-storage/", {"storage": foreign.pk})
    assert response.status_code == 400


def test_send_back_notifies_the_requester_and_the_units_approvers(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    response = demo.api("alice").post(f"/api/requests/{request.pk}/send-back/", {"comment": "add the crate"})
    assert response.status_code == 200 and response.json()["status"] == "sent_back"
    for username in ("bob", "alice"):
        events = events_of(f"notifications.user.{demo.user(username).pk}")
        assert [e["type"] for e in events] == ["notification.created"], username
        assert "add the crate" in events[0]["data"]["body"]
    assert events_of(f"notifications.user.{demo.user('sam').pk}") == []


def test_update_resubmits_a_sent_back_request(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    demo.api("alice").post(f"/api/requests/{request.pk}/send-back/", {"comment": "rename"})
    kind = request.request_type
    response = demo.api("bob").patch(
        f"/api/requests/{kind}/update/", {"id": request.pk, "title": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Renamed" and response.json()["status"] == "pending"
    other = "withdrawal" if kind != "withdrawal" else "storage"
    assert demo.api("bob").patch(f"/api/requests/{other}/update/", {"id": request.pk}, format="json").status_code == 404


def test_an_update_to_the_same_values_records_and_publishes_nothing(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    before = events_of(f"requests.unit.{request.unit_id}")
    entries = AuditEntry.objects.count()
    same = {"id": request.pk, "title": request.title, "crate": request.crate_id}
    response = demo.api("bob").patch(f"/api/requests/{request.request_type}/update/", same, format="json")
    assert response.status_code == 200 and response.json()["title"] == request.title
    assert events_of(f"requests.unit.{request.unit_id}") == before and AuditEntry.objects.count() == entries


def test_a_rolled_back_change_publishes_nothing(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    with capture_events() as events, pytest.raises(RuntimeError), transaction.atomic():
        services.request_approve(actor=demo.user("alice"), request=request)
        raise RuntimeError("the caller fails after the service")
    assert Request.objects.get(pk=request.pk).status == "pending"
    events.assert_nothing_published(f"requests.unit.{request.unit_id}")
    from apps.realtime.models import OutboxEvent

    assert OutboxEvent.objects.count() == 0


def test_every_change_is_in_the_audit_trail(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    demo.api("alice").post(f"/api/requests/{request.pk}/approve/")
    trail = demo.api("nina").get(f"/api/audit/?unit={request.unit_id}")
    assert trail.status_code == 200
    entry = trail.json()[0]
    assert (entry["actor"], entry["action"], entry["object_type"], entry["object_id"]) == (
        "alice",
        "approved",
        "request",
        request.pk,
    )
    assert entry["changes"] == {"status": ["pending", "approved"]}
    audit = events_of(f"audit.unit.{request.unit_id}")
    assert audit[-1]["type"] == "audit.created" and audit[-1]["data"]["object_id"] == request.pk
    assert demo.api("bob").get(f"/api/audit/?unit={request.unit_id}").status_code == 403
    assert demo.api("nina").get("/api/audit/?unit=x").status_code == 400
