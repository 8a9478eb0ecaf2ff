"""The operations API and page, through the whole ASGI app and Django's test client."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.ops import services
from apps.realtime.publish import publish
from tests.support import Demo, close_code, connect, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_snapshot_counts_this_process_connections_and_stream_subscribers(
    memory_layer: str, demo: Demo
) -> None:
    north = await sync_to_async(demo.unit)("North")
    tokens = [await sync_to_async(demo.token)(name) for name in ("alice", "bob")]
    sockets = [(await connect(f"/ws/requests/{north.pk}/?token={token}"))[0] for token in tokens]
    for ws in sockets:
        await ready(ws)
    response = await sync_to_async(lambda: demo.api("admin").get("/api/ops/"))()
    assert response.status_code == 200
    body = response.json()
    assert body["connections"]["requests"] >= 2  # the gauge of the process: other tests' sockets too
    assert {"stream": f"requests.unit.{north.pk}", "subscribers": 2} in body["streams"]
    assert len(body["processes"]) == 1
    assert body["outbox_backlog"] == 0
    for ws in sockets:
        await ws.disconnect()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/ops/", None),
        ("get", "/api/ops/events/?stream=invoices", None),
        ("post", "/api/ops/disconnect/", {"user": 1}),
    ],
)
def test_the_operations_api_is_for_staff_only(demo: Demo, method: str, path: str, data: dict | None) -> None:
    assert getattr(demo.api("alice"), method)(path, data, format="json").status_code == 403
    assert getattr(Client(), method)(path, data).status_code == 401


def test_the_last_events_of_a_stream_newest_last(demo: Demo, memory_layer: str) -> None:
    ids = [publish("invoices", {"type": "invoice.updated", "action": "imported", "n": n}) for n in range(25)]
    response = demo.api("admin").get("/api/ops/events/?stream=invoices&limit=3")
    assert response.status_code == 200
    assert response.json()["stream"] == "invoices"
    assert [e["id"] for e in response.json()["events"]] == ids[-3:]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "stream"),
        ("?stream=nope", "stream"),
        ("?stream=invoices&limit=0", "limit"),
        ("?stream=invoices&limit=x", "limit"),
    ],
)
def test_bad_stream_queries_are_400_with_the_field_named(demo: Demo, query: str, field: str) -> None:
    response = demo.api("admin").get(f"/api/ops/events/{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field] and isinstance(response.json()[field], list)


@pytest.mark.parametrize(("data", "status"), [({}, 400), ({"user": "x"}, 400), ({"user": 999999}, 404)])
def test_disconnect_refuses_what_it_cannot_do(demo: Demo, data: dict, status: int) -> None:
    assert demo.api("admin").post("/api/ops/disconnect/", data, format="json").status_code == status


async def test_disconnect_closes_every_socket_of_the_user_with_4401_and_only_theirs(
    memory_layer: str, demo: Demo
) -> None:
    north = await sync_to_async(demo.unit)("North")
    alice = await sync_to_async(demo.user)("alice")
    alice_token = await sync_to_async(demo.token)("alice")
    bob_token = await sync_to_async(demo.token)("bob")
    hers = [
        (await connect(path))[0]
        for path in (f"/ws/requests/{north.pk}/?token={alice_token}", f"/ws/?token={alice_token}")
    ]
    his, _, _ = await connect(f"/ws/requests/{north.pk}/?token={bob_token}")
    for ws in [*hers, his]:
        await ready(ws)
    admin = await sync_to_async(demo.api)("admin")
    response = await sync_to_async(admin.post)("/api/ops/disconnect/", {"user": alice.pk}, format="json")
    assert response.status_code == 202
    assert [await close_code(ws) for ws in hers] == [4401, 4401]
    await his.send_json_to({"type": "ping"})
    assert (await receive(his))["type"] == "pong"
    await his.disconnect()


async def test_a_report_publishes_the_snapshot_on_the_ops_stream_for_staff(memory_layer: str, demo: Demo) -> None:
    token = await sync_to_async(demo.token)("admin")
    ws, _, _ = await connect(f"/ws/ops/?token={token}")
    await ready(ws)
    assert await sync_to_async(services.report_once)()
    event = await receive(ws)
    assert (event["type"], event["stream"]) == ("ops.updated", "ops")
    assert {"stream": "ops", "subscribers": 1} in event["data"]["streams"]
    assert not await sync_to_async(services.report_once)(), "an unchanged snapshot is published again"
    alice = await sync_to_async(demo.token)("alice")
    refused, _, _ = await connect(f"/ws/ops/?token={alice}")
    assert await close_code(refused) == 4403
    await ws.disconnect()


def test_the_page_is_for_staff_and_sends_others_away(demo: Demo) -> None:
    anonymous = Client().get("/ops/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    alice = Client()
    alice.login(username="alice", password="demo-pass-123")
    assert alice.get("/ops/").status_code == 403
    assert alice.get("/ops/client/index.js").status_code == 404
    admin = Client()
    admin.login(username="admin", password="demo-pass-123")
    page = admin.get("/ops/")
    assert page.status_code == 200 and b'data-access="' in page.content
    assert admin.get("/ops/client/../../../README.md").status_code == 404
