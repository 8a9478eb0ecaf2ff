"""Personal notifications and broadcasts: the staff API, delivery by a background task, the streams."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from apps.notifications.models import Notification
from apps.realtime.events import validate
from tests.support import Demo, close_code, connect, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def socket_of(demo: Demo, username: str, path: str = "/ws/notifications/{id}/") -> Any:
    user = await sync_to_async(demo.user)(username)
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(path.format(id=user.pk) + f"?token={token}")
    assert accepted
    await ready(ws)
    return ws


async def event(ws: Any) -> dict[str, Any]:
    frame = await receive(ws)
    validate(frame)
    return frame


def post_notification(demo: Demo, username: str, body: dict[str, Any]) -> Any:
    return demo.api(username).post("/api/notifications/", body, format="json")


async def test_staff_notification_reaches_the_recipient_and_its_status_the_sender(layer: str, demo: Demo) -> None:
    bob_ws = await socket_of(demo, "bob")
    admin_ws = await socket_of(demo, "admin")
    bob = await sync_to_async(demo.user)("bob")
    body = {"user": bob.pk, "title": "Stock take", "body": "Friday 9:00", "level": "warning"}
    response = await sync_to_async(post_notification)(demo, "admin", body)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending" and response.json()["sender"] == "admin"
    assert response.json()["user"] == bob.pk  # named as the request names it
    created = await event(bob_ws)
    assert (created["type"], created["notification_id"]) == ("notification.created", response.json()["id"])
    assert created["stream"] == f"notifications.user.{bob.pk}"
    assert created["data"]["title"] == "Stock take" and created["data"]["level"] == "warning"
    assert created["data"]["status"] == "sent" and created["updated_by"] == "admin"
    status = await event(admin_ws)
    assert (status["type"], status["action"], status["status"]) == ("notification.status", "sent", "sent")
    assert status["notification_id"] == response.json()["id"] and status["data"]["user"] == bob.pk
    assert await nothing_more(bob_ws) and await nothing_more(admin_ws)
    stored = await sync_to_async(Notification.objects.get)(pk=response.json()["id"])
    assert stored.status == "sent"
    await bob_ws.disconnect()
    await admin_ws.disconnect()


def test_only_staff_send_notifications_and_broadcasts(memory_layer: str, demo: Demo) -> None:
    bob = demo.user("bob")
    assert post_notification(demo, "alice", {"user": bob.pk, "title": "hi", "body": ""}).status_code == 403
    assert demo.api("alice").post("/api/notifications/broadcast/", {"title": "hi", "body": ""}).status_code == 403
    assert not Notification.objects.exists()


def test_a_notification_needs_an_active_recipient_and_a_title(memory_layer: str, demo: Demo) -> None:
    assert post_notification(demo, "admin", {"user": 999_999, "title": "hi", "body": ""}).status_code == 400
    assert post_notification(demo, "admin", {"user": demo.user("bob").pk, "body": "no title"}).status_code == 400
    bad_level = {"user": demo.user("bob").pk, "title": "hi", "body": "", "level": "urgent"}
    assert post_notification(demo, "admin", bad_level).status_code == 400
    assert not Notification.objects.exists()


async def test_delivery_to_an_inactive_recipient_fails_and_the_sender_is_told(memory_layer: str, demo: Demo) -> None:
    from apps.notifications import services

    admin_ws = await socket_of(demo, "admin")

    def create_then_deactivate() -> Notification:
        bob, admin = demo.user("bob"), demo.user("admin")
        notification = Notification.objects.create(recipient=bob, sender=admin, title="Too late")
        bob.is_active = False
        bob.save()
        services.notification_deliver(notification_id=notification.pk)
        return notification

    notification = await sync_to_async(create_then_deactivate)()
    status = await event(admin_ws)
    assert (status["action"], status["status"], status["notification_id"]) == ("failed", "failed", notification.pk)
    assert (await sync_to_async(Notification.objects.get)(pk=notification.pk)).status == "failed"
    await admin_ws.disconnect()


async def test_delivery_that_raises_marks_the_notification_failed(
    memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.notifications import services

    bob = await sync_to_async(demo.user)("bob")
    real = services.publish_on_commit

    def recipient_stream_is_broken(stream: str, event: Any) -> None:
        if stream == f"notifications.user.{bob.pk}":
            raise RuntimeError("recipient stream unavailable")
        real(stream, event)

    monkeypatch.setattr(services, "publish_on_commit", recipient_stream_is_broken)
    admin_ws = await socket_of(demo, "admin")

    def deliver() -> Notification:
        notification = Notification.objects.create(recipient=bob, sender=demo.user("admin"), title="Boom")
        with pytest.raises(RuntimeError, match="recipient stream unavailable"):
            services.notification_deliver(notification_id=notification.pk)
        return notification

    notification = await sync_to_async(deliver)()
    status = await event(admin_ws)
    assert (status["status"], status["notification_id"]) == ("failed", notification.pk)
    assert (await sync_to_async(Notification.objects.get)(pk=notification.pk)).status == "failed"
    await admin_ws.disconnect()


async def test_a_delivery_task_that_runs_twice_delivers_once(memory_layer: str, demo: Demo) -> None:
    from apps.notifications.tasks import send_notification_task

    bob_ws = await socket_of(demo, "bob")

    def create_and_run_twice() -> Notification:
        notification = Notification.objects.create(recipient=demo.user("bob"), title="Once")
        send_notification_task(notification.pk)
        send_notification_task(notification.pk)
        return notification

    notification = await sync_to_async(create_and_run_twice)()
    assert (await event(bob_ws))["notification_id"] == notification.pk
    assert await nothing_more(bob_ws)
    await bob_ws.disconnect()


async def test_broadcast_reaches_every_signed_in_socket(layer: str, demo: Demo) -> None:
    users = ("alice", "bob", "carol", "stella", "admin")
    sockets = [await socket_of(demo, username, "/ws/notifications/") for username in users]
    payload = {"title": "Maintenance at 18:00", "body": "Read-only for ten minutes."}
    response = await sync_to_async(lambda: demo.api("admin").post("/api/notifications/broadcast/", payload))()
    assert response.status_code == 202, response.content
    broadcast = response.json()
    for ws in sockets:
        frame = await event(ws)
        assert (frame["type"], frame["stream"]) == ("notification.broadcast", "notifications.all")
        assert frame["notification_id"] == broadcast["id"] and frame["data"]["title"] == "Maintenance at 18:00"
        assert frame["updated_by"] == "admin"
        await ws.disconnect()
    assert not await sync_to_async(Notification.objects.exists)()


async def test_the_notifications_route_carries_own_notifications_but_not_others(memory_layer: str, demo: Demo) -> None:
    bob_ws = await socket_of(demo, "bob", "/ws/notifications/")
    alice_ws = await socket_of(demo, "alice", "/ws/notifications/")
    bob = await sync_to_async(demo.user)("bob")
    response = await sync_to_async(post_notification)(demo, "admin", {"user": bob.pk, "title": "For bob", "body": ""})
    assert response.status_code == 202
    assert (await event(bob_ws))["type"] == "notification.created"
    assert await nothing_more(alice_ws)
    await bob_ws.disconnect()
    await alice_ws.disconnect()


@pytest.mark.parametrize("path", ["/ws/notifications/{bob}/?token={alice}", "/ws/notifications/{bob}/?token={admin}"])
async def test_nobody_reads_another_users_notifications(memory_layer: str, demo: Demo, path: str) -> None:
    values = await sync_to_async(
        lambda: {"bob": demo.user("bob").pk, "alice": demo.token("alice"), "admin": demo.token("admin")}
    )()
    ws, _, _ = await connect(path.format(**values))
    assert await close_code(ws) == 4403


async def test_nobody_subscribes_to_the_health_probe_stream(memory_layer: str, demo: Demo) -> None:
    token = await sync_to_async(demo.token)("admin")
    ws, _, _ = await connect(f"/ws/?token={token}")
    stream = "health.probe.5d0c1f0e-8f0b-4a8e-9c1e-3b2a1d4c5e6f"
    await ws.send_json_to({"type": "subscribe", "stream": stream})
    reply = await receive(ws)
    assert (reply["type"], reply["code"], reply["stream"]) == ("error", 4403, stream)
    await ws.disconnect()


def test_the_list_shows_own_notifications_and_marks_them_read(memory_layer: str, demo: Demo) -> None:
    from apps.notifications.services import notify_user

    bob, alice = demo.user("bob"), demo.user("alice")
    mine = notify_user(recipient=bob, title="For bob", sender=alice)
    theirs = notify_user(recipient=alice, title="For alice")
    listed = demo.api("bob").get("/api/notifications/").json()
    assert [n["id"] for n in listed] == [mine.pk]
    assert listed[0]["status"] == "sent" and listed[0]["read_at"] is None and listed[0]["sender"] == "alice"
    read = demo.api("bob").post(f"/api/notifications/{mine.pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = demo.api("bob").post(f"/api/notifications/{mine.pk}/read/")
    assert again.json()["read_at"] == read.json()["read_at"]
    assert demo.api("bob").get("/api/notifications/?unread=1").json() == []
    assert demo.api("bob").post(f"/api/notifications/{theirs.pk}/read/").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


async def test_a_notification_in_a_rolled_back_transaction_is_neither_kept_nor_delivered(
    memory_layer: str, demo: Demo
) -> None:
    from django.db import transaction

    from apps.notifications.services import notify_user

    bob_ws = await socket_of(demo, "bob")

    def notify_then_fail() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify_user(recipient=demo.user("bob"), title="Never", sender=demo.user("admin"), background=True)
            notify_user(recipient=demo.user("bob"), title="Never either")
            raise RuntimeError("the caller fails")

    await sync_to_async(notify_then_fail)()
    assert await nothing_more(bob_ws, 0.5)
    assert not await sync_to_async(Notification.objects.exists)()
    await bob_ws.disconnect()
