"""The invoice workflow: each step in order publishes `invoice.updated`; out of order is 409 and publishes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.realtime.events import validate
from apps.realtime.models import OutboxEvent
from apps.sales.demo import DEMO_INVOICES
from apps.sales.models import Invoice
from tests.support import Demo, NullWriter, close_code, connect, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = [
    ("picking/start/", "picking_started"),
    ("picking/complete/", "picking_completed"),
    ("packing/start/", "packing_started"),
    ("packing/complete/", "packing_completed"),
    ("delivery/start/", "delivery_started"),
    ("delivery/complete/", "delivery_completed"),
]


def post(demo: Demo, username: str, url: str, body: dict[str, Any]) -> Any:
    return demo.api(username).post(f"/api/sales/{url}", body, format="json")


def import_invoice(demo: Demo, number: str = "INV-7001", username: str = "sam") -> int:
    reply = post(demo, username, "import/invoice/", {"number": number, "customer": "Hooli", "total": "99.90"})
    assert reply.status_code == 201, reply.content
    return int(reply.json()["id"])


async def board(demo: Demo, username: str = "bob") -> WebsocketCommunicator:
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(f"/ws/invoices/?token={token}")
    assert accepted
    await ready(ws)
    return ws


async def test_every_step_in_order_reaches_every_signed_in_user(layer: str, demo: Demo) -> None:
    watchers = [await board(demo, "bob"), await board(demo, "carol")]
    invoice_id = await sync_to_async(import_invoice)(demo)
    for url, _ in STEPS:
        reply = await sync_to_async(post)(demo, "sam", url, {"invoice_id": invoice_id})
        assert reply.status_code == 200, reply.content
        assert reply.json()["stage"] == url_stage(url)
    for ws in watchers:
        events = [await receive(ws) for _ in range(7)]
        for event in events:
            validate(event)
        assert [e["action"] for e in events] == ["imported"] + [stage for _, stage in STEPS]
        assert all(e["stage"] == e["action"] == e["data"]["stage"] for e in events)
        assert all(e["invoice_id"] == invoice_id and e["stream"] == "invoices" for e in events)
        assert all(e["updated_by"] == "sam" for e in events)
        assert events[0]["data"]["number"] == "INV-7001" and events[0]["data"]["total"] == "99.90"
        assert events[-1]["data"]["delivery_completed_at"] is not None
        assert await nothing_more(ws)
        await ws.disconnect()


def url_stage(url: str) -> str:
    return dict(STEPS)[url]


@pytest.mark.parametrize(
    ("done", "attempt"),
    [
        (0, "picking/complete/"),  # skips picking/start
        (0, "delivery/complete/"),
        (1, "picking/start/"),  # the same step twice
        (3, "packing/start/"),  # backwards
        (6, "picking/start/"),  # after delivery
        (6, "delivery/complete/"),
    ],
)
async def test_a_step_out_of_order_answers_409_and_publishes_nothing(
    memory_layer: str, demo: Demo, done: int, attempt: str
) -> None:
    invoice_id = await sync_to_async(import_invoice)(demo)
    for url, _ in STEPS[:done]:
        assert (await sync_to_async(post)(demo, "sam", url, {"invoice_id": invoice_id})).status_code == 200
    stage_before = (await Invoice.objects.aget(pk=invoice_id)).stage
    ws = await board(demo)
    reply = await sync_to_async(post)(demo, "sam", attempt, {"invoice_id": invoice_id})
    assert reply.status_code == 409
    assert stage_before in reply.json()["detail"]
    assert await nothing_more(ws, 0.5)
    assert (await Invoice.objects.aget(pk=invoice_id)).stage == stage_before
    assert not await OutboxEvent.objects.aexists()
    await ws.disconnect()


async def test_importing_a_number_twice_answers_409_and_publishes_nothing(memory_layer: str, demo: Demo) -> None:
    await sync_to_async(import_invoice)(demo, "INV-7002")
    ws = await board(demo)
    reply = await sync_to_async(post)(
        demo, "sam", "import/invoice/", {"number": "INV-7002", "customer": "X", "total": "1"}
    )
    assert reply.status_code == 409
    assert await nothing_more(ws, 0.5)
    assert await Invoice.objects.filter(number="INV-7002").acount() == 1
    await ws.disconnect()


def test_bad_requests_answer_400_and_unknown_invoices_404(demo: Demo) -> None:
    assert post(demo, "sam", "import/invoice/", {"number": "X-1", "customer": "Y"}).status_code == 400
    assert post(demo, "sam", "import/invoice/", {"number": "X-1", "customer": "Y", "total": "-5"}).status_code == 400
    assert post(demo, "sam", "picking/start/", {}).status_code == 400
    assert post(demo, "sam", "picking/start/", {"invoice_id": 999_999}).status_code == 404
    assert APIClient().post("/api/sales/picking/start/", {"invoice_id": 1}).status_code == 401
    assert APIClient().get("/api/sales/invoices/").status_code == 401


def test_invoices_can_be_listed_and_read_for_refetching(demo: Demo) -> None:
    listed = demo.api("dan").get("/api/sales/invoices/").json()
    assert {i["number"] for i in listed} == set(DEMO_INVOICES)
    one = demo.api("dan").get(f"/api/sales/invoices/{listed[0]['id']}/").json()
    assert one == listed[0]
    imported = demo.api("dan").get("/api/sales/invoices/?stage=imported").json()
    assert {i["number"] for i in imported} == {"INV-1001", "INV-1005"}


def test_seed_demo_adds_the_demo_invoices_once(demo: Demo) -> None:
    call_command("seed_demo", force=True, stdout=NullWriter())
    assert Invoice.objects.count() == len(DEMO_INVOICES)
    delivered = Invoice.objects.get(number="INV-1004")
    assert delivered.stage == "delivery_completed" and delivered.picking_started_at is not None
    assert Invoice.objects.get(number="INV-1003").customer_email == ""


async def test_the_board_is_for_signed_in_users(memory_layer: str, demo: Demo) -> None:
    ws, _, _ = await connect("/ws/invoices/")
    assert await close_code(ws) == 4401
