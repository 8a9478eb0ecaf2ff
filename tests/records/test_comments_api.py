"""Comments on requests over REST, and each request's own stream."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.realtime.events import validate
from apps.realtime.testing import capture_events
from tests.records.test_requests_api import events_of, pending_north
from tests.support import Demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_comments_and_both_streams_carry_it(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    url = f"/api/requests/{request.pk}/comments/"
    created = demo.api("bob").post(url, {"body": "  Is crate 12 included?  "}, format="json")
    assert created.status_code == 201, created.content
    comment = created.json()
    assert set(comment) == {"id", "request", "author", "body", "created_at"}
    assert (comment["request"], comment["author"], comment["body"]) == (request.pk, "bob", "Is crate 12 included?")
    listed = demo.api("alice").get(url)
    assert listed.status_code == 200 and listed.json() == [comment]
    for stream in (f"requests.item.{request.pk}", f"requests.unit.{request.unit_id}"):
        (event,) = [e for e in events_of(stream) if e["type"] == "comment.created"]
        validate(event)
        assert (event["comment_id"], event["request_id"], event["data"]) == (comment["id"], request.pk, comment)
    entry = AuditEntry.objects.get(action="commented")
    assert (entry.unit_id, entry.actor.username, entry.object_id) == (request.unit_id, "bob", comment["id"])


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {"body": None}])
def test_a_comment_body_is_1_to_2000_characters(memory_layer: str, demo: Demo, body: dict) -> None:
    request = pending_north(demo)
    with capture_events() as events:
        response = demo.api("bob").post(f"/api/requests/{request.pk}/comments/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"body"} and isinstance(response.json()["body"], list)
    events.assert_nothing_published(f"requests.item.{request.pk}")
    events.assert_nothing_published(f"requests.unit.{request.unit_id}")


def test_a_comment_of_2000_characters_is_taken(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    response = demo.api("bob").post(f"/api/requests/{request.pk}/comments/", {"body": "x" * 2000}, format="json")
    assert response.status_code == 201


def test_others_get_404_and_publish_nothing(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    url = f"/api/requests/{request.pk}/comments/"
    with capture_events() as events:
        for username in ("carol", "admin"):  # another unit's member; staff in no unit
            assert demo.api(username).get(url).status_code == 404
            assert demo.api(username).post(url, {"body": "hello"}, format="json").status_code == 404
        assert demo.api("bob").get("/api/requests/999999/comments/").status_code == 404
    events.assert_nothing_published(f"requests.item.{request.pk}")
    events.assert_nothing_published(f"requests.unit.{request.unit_id}")


def test_a_request_change_is_on_its_own_stream_too(memory_layer: str, demo: Demo) -> None:
    request = pending_north(demo)
    assert demo.api("alice").post(f"/api/requests/{request.pk}/approve/").status_code == 200
    (event,) = [e for e in events_of(f"requests.item.{request.pk}") if e["action"] == "approved"]
    assert (event["type"], event["action"], event["request_id"]) == ("request.updated", "approved", request.pk)
