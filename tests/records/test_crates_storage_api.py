"""Crates and storage locations over REST."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from tests.records.test_requests_api import events_of
from tests.support import Demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_creates_edits_and_relocates_a_crate(memory_layer: str, demo: Demo) -> None:
    north = demo.unit("North")
    shelves = list(north.storage_locations.all())
    api = demo.api("sam")
    created = api.post("/api/documents/crates/", {"unit": north.pk, "code": "N-9000", "storage": shelves[0].pk})
    assert created.status_code == 201, created.content
    crate_id = created.json()["id"]
    assert api.patch(f"/api/documents/crates/{crate_id}/", {"description": "Tax"}, format="json").status_code == 200
    moved = api.post(f"/api/documents/crates/{crate_id}/relocate/", {"storage": shelves[1].pk})
    assert moved.status_code == 200 and moved.json()["storage"] == shelves[1].pk
    events = [e for e in events_of(f"crates.unit.{north.pk}") if e["crate_id"] == crate_id]
    assert [e["action"] for e in events] == ["created", "updated", "relocated"]


def test_a_crate_cannot_move_to_another_units_storage(memory_layer: str, demo: Demo) -> None:
    crate = demo.unit("North").crates.first()
    foreign = demo.unit("South").storage_locations.first()
    response = demo.api("sam").post(f"/api/documents/crates/{crate.pk}/relocate/", {"storage": foreign.pk})
    assert response.status_code == 400


def test_other_units_crates_are_404(memory_layer: str, demo: Demo) -> None:
    crate = demo.unit("North").crates.first()
    assert demo.api("carol").get(f"/api/documents/crates/{crate.pk}/").status_code == 404
    assert (
        demo.api("carol").patch(f"/api/documents/crates/{crate.pk}/", {"code": "x"}, format="json").status_code == 404
    )


def test_only_unit_admins_and_staff_write_storage(memory_layer: str, demo: Demo) -> None:
    north = demo.unit("North")
    shelf = north.storage_locations.first()
    assert demo.api("alice").get(f"/api/storage/{shelf.pk}/").status_code == 200
    assert demo.api("alice").patch(f"/api/storage/{shelf.pk}/", {"capacity": 5}, format="json").status_code == 403
    assert demo.api("carol").get(f"/api/storage/{shelf.pk}/").status_code == 404
    assert demo.api("nina").patch(f"/api/storage/{shelf.pk}/", {"capacity": 5}, format="json").status_code == 200
    assert (
        demo.api("admin")
        .put(f"/api/storage/{shelf.pk}/", {"name": "Vault", "location": "B2", "capacity": 9}, format="json")
        .status_code
        == 200
    )
    created = demo.api("nina").post("/api/storage/", {"unit": north.pk, "name": "Attic"})
    assert created.status_code == 201
    assert demo.api("alice").post("/api/storage/", {"unit": north.pk, "name": "Attic 2"}).status_code == 403
    events = events_of(f"storage.unit.{north.pk}")
    assert [e["action"] for e in events] == ["updated", "updated", "created"]
    assert events[1]["updated_by"] == "admin"


def test_me_lists_units_and_roles(memory_layer: str, demo: Demo) -> None:
    me = demo.api("alice").get("/api/auth/me/").json()
    assert me["username"] == "alice" and me["is_staff"] is False
    assert me["units"] == [{"id": demo.unit("North").pk, "name": "North", "role": "approver"}]
    assert demo.api("mentor").get("/api/auth/me/").json()["role"] == "mentor"


def test_an_update_that_changes_nothing_records_and_publishes_nothing(memory_layer: str, demo: Demo) -> None:
    north = demo.unit("North")
    crate, shelf = north.crates.first(), north.storage_locations.first()
    entries = AuditEntry.objects.count()
    crates, storage = events_of(f"crates.unit.{north.pk}"), events_of(f"storage.unit.{north.pk}")
    same_crate = {"code": crate.code, "description": crate.description, "storage": crate.storage_id}
    assert demo.api("sam").put(f"/api/documents/crates/{crate.pk}/", same_crate, format="json").status_code == 200
    assert (
        demo.api("sam").post(f"/api/documents/crates/{crate.pk}/relocate/", {"storage": crate.storage_id}).status_code
        == 200
    )
    same_shelf = {"capacity": shelf.capacity}
    assert demo.api("nina").patch(f"/api/storage/{shelf.pk}/", same_shelf, format="json").status_code == 200
    assert AuditEntry.objects.count() == entries
    assert events_of(f"crates.unit.{north.pk}") == crates and events_of(f"storage.unit.{north.pk}") == storage
    # A change does both, with only what changed.
    assert demo.api("nina").patch(f"/api/storage/{shelf.pk}/", {"capacity": 7}, format="json").status_code == 200
    entry = AuditEntry.objects.first()
    assert (entry.action, entry.object_id, entry.changes) == ("updated", shelf.pk, {"capacity": [shelf.capacity, 7]})
    assert [e["action"] for e in events_of(f"storage.unit.{north.pk}")] == ["updated"]
