"""The testing kit an adopting project uses (apps/realtime/testing.py), tested as it is used:
in a test transaction (`db`) and in a transactional test, with sockets on the ASGI app."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import transaction

from apps.accounts.models import Unit, User
from apps.realtime.publish import publish_on_commit
from apps.realtime.testing import (
    Capture,
    access_token,
    assert_nothing_published,
    assert_published,
    capture_events,
    connect,
)
from apps.requests import services
from apps.requests.models import Request
from tests import support


def event(n: int) -> dict[str, Any]:
    return {"type": "request.updated", "request_id": n, "action": "updated", "status": "pending", "data": {"n": n}}


@pytest.mark.django_db
def test_in_a_test_transaction_the_pending_commits_publish_when_read(memory_layer: str) -> None:
    with capture_events() as events:
        publish_on_commit("requests.unit.1", event(1))
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_on_commit("requests.unit.1", event(2))
            raise RuntimeError("rolled back: its event must not appear")
        assert [e["request_id"] for e in events.on("requests.unit.1")] == [1]
        publish_on_commit("requests.unit.1", event(3))
    assert [e["request_id"] for e in events.events] == [1, 3], "each commit callback ran once"
    found = events.assert_published("requests.unit.1", type="request.updated", request_id=3, n=3)  # n: in data
    assert found["id"] and found["stream"] == "requests.unit.1"
    events.assert_nothing_published("requests.unit.2")


@pytest.mark.django_db
def test_a_failed_assertion_says_what_was_published(memory_layer: str) -> None:
    with capture_events() as events:
        publish_on_commit("requests.unit.1", event(1))
    with pytest.raises(AssertionError, match=r"no event on 'requests.unit.1' with type='request.updated', status='x'"):
        events.assert_published("requests.unit.1", type="request.updated", status="x")
    with pytest.raises(AssertionError, match=r'published 1 event\(s\): requests.unit.1: .*"request_id": 1'):
        events.assert_nothing_published()


@pytest.mark.django_db
def test_the_module_functions_use_the_innermost_capture(memory_layer: str) -> None:
    with pytest.raises(RuntimeError, match="no capture is open"):
        assert_nothing_published()
    with capture_events(), capture_events():
        publish_on_commit("requests.unit.1", event(1))
        assert_published("requests.unit.1", request_id=1)


def test_the_fixture_captures_a_whole_transactional_test(
    memory_layer: str, demo: support.Demo, realtime_events: Capture
) -> None:
    request = Request.objects.filter(unit__name="North", status="pending").first()
    assert request is not None
    services.request_approve(actor=User.objects.get(username="alice"), request=request)
    realtime_events.assert_published(f"requests.item.{request.pk}", type="request.updated", action="approved")


def test_a_token_helper_with_a_chosen_expiry(transactional_db: None) -> None:
    import jwt

    user = User.objects.create_user("tess", password="x" * 12)
    claims = jwt.decode(access_token(user, lifetime=60), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60 and claims["user_id"] == str(user.pk)
    expired = jwt.decode(access_token(user, lifetime=-1), options={"verify_signature": False})
    assert expired["exp"] < expired["iat"]


@pytest.mark.django_db(transaction=True)
async def test_connect_receives_events_and_close_codes(memory_layer: str) -> None:
    await sync_to_async(call_command)("seed_demo", force=True, stdout=support.NullWriter())
    north = await Unit.objects.aget(name="North")
    alice = await User.objects.aget(username="alice")
    carol = await User.objects.aget(username="carol")
    async with connect(f"/ws/requests/{north.pk}/", user=alice) as socket:
        await socket.ready()
        await sync_to_async(publish_on_commit)(f"requests.unit.{north.pk}", event(7))
        received = await socket.receive_event()
        assert received["request_id"] == 7 and received["stream"] == f"requests.unit.{north.pk}"
        assert await socket.nothing_more()
    async with connect(f"/ws/requests/{north.pk}/", user=carol) as refused:  # another unit's member
        assert await refused.close_code() == 4403
    async with connect(f"/ws/requests/{north.pk}/") as anonymous:
        assert await anonymous.close_code() == 4401
    token = await sync_to_async(access_token)(alice, lifetime=-1)
    async with connect(f"/ws/requests/{north.pk}/", token=token) as expired:
        assert await expired.close_code() == 4401
