"""
A job in a real server process, embedded default (no broker: the job runs in the server's
task pool): it streams live, over WebSocket and SSE alike and in the same order, after the
request that started it has returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.realtime.events import validate
from apps.realtime.ids import parse
from tests.sse.client import open_stream
from tests.support import Server

ITEMS, ITEM_DELAY_MS = 120, 20  # the job takes 2.4 s at least


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server({"PROGRESS_ITEM_DELAY_MS": str(ITEM_DELAY_MS)}) as running:
        yield running


def start_job(server: Server, token: str, task_type: str = "report_generation", total: int = ITEMS) -> str:
    reply = httpx.post(
        f"{server.base}/api/progress/jobs/",
        json={"task_type": task_type, "total_items": total},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 202, reply.text
    assert reply.json()["total"] == total
    return str(reply.json()["job_id"])


def job_status(server: Server, token: str, job_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{server.base}/api/progress/jobs/{job_id}/", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    return dict(reply.json())


def ws_until_the_end(ws: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        event = json.loads(ws.recv(timeout=20))
        validate(event)
        events.append(event)
        if event["action"] in ("complete", "error"):
            return events


def sse_until_the_end(stream: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        events.append(stream.event())
        if events[-1]["action"] in ("complete", "error"):
            return events


def test_a_job_streams_live_over_websocket_and_sse_in_the_same_order_after_its_request_returned(
    server: Server,
) -> None:
    token = server.token("alice")
    job_id = start_job(server, token)
    assert job_status(server, token, job_id)["status"] in ("pending", "started"), "the request did not wait for it"
    with (
        connect(f"{server.ws}/ws/progress/{job_id}/?token={token}") as ws,
        open_stream(f"{server.base}/api/events/?channel=progress-{job_id}&token={token}") as sse,
    ):
        over_sse = sse_until_the_end(sse)
        over_ws = ws_until_the_end(ws)
    for events in (over_sse, over_ws):
        keys = [parse(e["id"]) for e in events]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        percents = [e["percent"] for e in events]
        assert percents == sorted(percents)
        assert events[-1]["action"] == "complete" and events[-1]["current"] == ITEMS
        assert all(e["stream"] == f"progress.job.{job_id}" and e["job_id"] == job_id for e in events)
    live = [e for e in over_sse[1:] if e["action"] == "progress" and e["current"] < ITEMS]
    assert live, "progress arrived while the job ran, not only its end"
    # Each transport first got the state at its subscription, then the same events in the same order.
    first = max(parse(over_sse[0]["id"]), parse(over_ws[0]["id"]))
    assert [e["id"] for e in over_sse if parse(e["id"]) >= first] == [
        e["id"] for e in over_ws if parse(e["id"]) >= first
    ]
    assert job_status(server, token, job_id)["status"] == "completed"


def test_a_late_sse_subscriber_first_gets_the_final_state(server: Server) -> None:
    token = server.token("alice")
    job_id = start_job(server, token, total=5)
    with open_stream(f"{server.base}/api/events/?channel=progress-{job_id}&token={token}") as stream:
        sse_until_the_end(stream)
    with open_stream(f"{server.base}/api/events/?channel=progress.job.{job_id}&token={token}") as late:
        first = late.event()
    assert (first["action"], first["status"], first["percent"], first["current"]) == ("complete", "completed", 100.0, 5)


def test_staff_may_follow_anyones_job_and_others_may_not(server: Server) -> None:
    job_id = start_job(server, server.token("bob"), total=3)
    staff = server.token("admin")
    with open_stream(f"{server.base}/api/events/?channel=progress-{job_id}&token={staff}") as stream:
        assert stream.event()["job_id"] == job_id
    with connect(f"{server.ws}/ws/progress/{job_id}/?token={server.token('alice')}") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_one_response_carries_several_streams(server: Server) -> None:
    token = server.token("alice")
    job_id = start_job(server, token, total=3)
    url = f"{server.base}/api/events/?channel=invoices&channel=progress-{job_id}&token={token}"
    with open_stream(url) as stream:
        invoices = httpx.get(f"{server.base}/api/sales/invoices/", headers={"Authorization": f"Bearer {token}"})
        imported = next(i for i in invoices.json() if i["stage"] == "imported")
        moved = httpx.post(
            f"{server.base}/api/sales/picking/start/",
            json={"invoice_id": imported["id"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert moved.status_code == 200
        kinds: set[str] = set()
        while kinds != {"invoice.updated", "progress.updated"}:
            kinds.add(stream.event()["type"])
