"""Server-Sent Events against a real Daphne process, read with httpx as a browser's EventSource would."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from tests.sse.client import SseStream, open_stream, session_cookie
from tests.support import Server, metric_values, wait_until

KEEPALIVE = 1  # seconds, instead of the production 10


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server({"SSE_KEEPALIVE_SECONDS": str(KEEPALIVE)}) as running:
        yield running


@pytest.fixture(scope="module")
def alice(server: Server) -> str:
    return server.token("alice")


def api(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def new_invoice(server: Server, token: str) -> int:
    reply = api(server, token).post(
        "/api/sales/import/invoice/", json={"number": f"T-{uuid.uuid4().hex[:10]}", "customer": "Test", "total": "10"}
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def step(server: Server, token: str, url: str, invoice_id: int) -> None:
    reply = api(server, token).post(f"/api/sales/{url}", json={"invoice_id": invoice_id})
    assert reply.status_code == 200, reply.text


STEPS = ["picking/start/", "picking/complete/", "packing/start/", "packing/complete/", "delivery/start/"]


def test_each_event_is_one_frame_with_its_id_and_no_event_line(server: Server, alice: str) -> None:
    invoice_id = new_invoice(server, alice)
    with open_stream(f"{server.base}/api/sales/sse/invoices/?token={alice}") as stream:
        headers = stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        step(server, alice, "picking/start/", invoice_id)
        block = stream.block()
        while block.data is None:  # keep-alive comments may come first
            block = stream.block()
        assert set(block.fields) == {"id", "data"}, block.lines
        event = block.data
        assert block.id == event["id"]
        assert (event["type"], event["action"], event["invoice_id"]) == (
            "invoice.updated",
            "picking_started",
            invoice_id,
        )
        assert event["stream"] == "invoices" and event["stage"] == "picking_started"
        assert event["updated_by"] == "alice"


def test_the_events_endpoint_serves_the_same_stream(server: Server, alice: str) -> None:
    invoice_id = new_invoice(server, alice)
    with open_stream(f"{server.base}/api/events/?channel=invoices&token={alice}") as stream:
        step(server, alice, "picking/start/", invoice_id)
        event = stream.event()
        assert (event["invoice_id"], event["action"], event["stream"]) == (invoice_id, "picking_started", "invoices")


def test_every_credential_opens_the_stream(server: Server, alice: str) -> None:
    ticket = api(server, alice).post("/api/auth/ws-ticket/").json()["ticket"]
    session = session_cookie(server.base, "bob")
    url = f"{server.base}/api/sales/sse/invoices/"
    for target, headers in [
        (f"{url}?token={alice}", {}),
        (f"{url}?ticket={ticket}", {}),
        (url, {"Authorization": f"Bearer {alice}"}),
        (url, {"Cookie": f"sessionid={session}"}),
    ]:
        with open_stream(target, headers):
            pass
    # a ticket opens one stream only
    reply = httpx.get(f"{url}?ticket={ticket}")
    assert reply.status_code == 401 and "ticket" in reply.json()["detail"]


def test_refusals_are_http_errors_with_a_json_reason(server: Server, alice: str) -> None:
    bob = server.token("bob")
    job = api(server, bob).post("/api/progress/jobs/", json={"task_type": "report_generation", "total_items": 3})
    assert job.status_code == 202
    bobs_job = job.json()["job_id"]
    cases: list[tuple[str, dict[str, str], int]] = [
        ("/api/events/?channel=invoices", {}, 401),
        ("/api/events/?channel=invoices&token=not-a-jwt", {}, 401),
        ("/api/events/?channel=invoices", {"Authorization": "Bearer not-a-jwt"}, 401),
        ("/api/events/?channel=invoices&ticket=unknown", {}, 401),
        (f"/api/events/?token={alice}", {}, 400),
        (f"/api/events/?channel=invoices&token={alice}&lastEventId=garbage", {}, 400),
        (f"/api/events/?channel=invoices&token={alice}", {"Last-Event-ID": "garbage"}, 400),
        (f"/api/events/?channel=no.such.stream&token={alice}", {}, 404),
        (f"/api/events/?channel=progress-not-a-uuid&token={alice}", {}, 404),
        (f"/api/events/?channel=progress-{bobs_job}&token={alice}", {}, 403),
        (f"/api/events/?channel=invoices&channel=progress.job.{bobs_job}&token={alice}", {}, 403),
        (f"/api/events/?channel=requests.unit.999999&token={alice}", {}, 403),
    ]
    for path, headers, status in cases:
        reply = httpx.get(server.base + path, headers=headers, timeout=10)
        assert reply.status_code == status, (path, reply.status_code, reply.text)
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["detail"], path


def test_a_comment_line_keeps_an_idle_stream_alive(server: Server, alice: str) -> None:
    me = api(server, alice).get("/api/auth/me/").json()
    quiet = f"notifications.user.{me['id']}"  # nothing notifies alice in these tests
    with open_stream(f"{server.base}/api/events/?channel={quiet}&token={alice}") as stream:
        started = time.monotonic()
        gaps = []
        for _ in range(3):
            block = stream.block()
            assert block.comments == ["keep-alive"] and not block.fields, block.lines
            gaps.append(time.monotonic() - started)
            started = time.monotonic()
        assert all(gap < KEEPALIVE + 1 for gap in gaps), gaps


@pytest.mark.parametrize("via", ["header", "query"])
def test_last_event_id_resumes_in_order_without_duplicates(server: Server, alice: str, via: str) -> None:
    invoice_id = new_invoice(server, alice)
    url = f"{server.base}/api/sales/sse/invoices/?token={alice}"
    with open_stream(url) as stream:
        step(server, alice, STEPS[0], invoice_id)
        seen = stream.event()
    for url_step in STEPS[1:4]:  # published while the client is away
        step(server, alice, url_step, invoice_id)
    headers: dict[str, str] = {}
    if via == "header":
        headers["Last-Event-ID"] = seen["id"]
    else:
        url += f"&lastEventId={seen['id']}"
    with open_stream(url, headers) as stream:
        replayed = [stream.event() for _ in range(3)]
        assert [e["action"] for e in replayed] == ["picking_completed", "packing_started", "packing_completed"]
        assert all(e["invoice_id"] == invoice_id for e in replayed)
        ids = [seen["id"]] + [e["id"] for e in replayed]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and len(set(ids)) == 4
        event_id, resumed = stream.message()
        assert event_id is None, "control messages carry no id: they must not move Last-Event-ID"
        assert resumed == {"type": "stream.resumed", "stream": "invoices", "replayed": 3}
        step(server, alice, STEPS[4], invoice_id)  # and then live, once
        live = stream.event()
        assert live["action"] == "delivery_started" and live["id"] not in ids


def test_a_last_event_id_the_history_no_longer_holds_gets_stream_reset(server: Server, alice: str) -> None:
    new_invoice(server, alice)  # the stream has history that starts after the id below
    with open_stream(f"{server.base}/api/sales/sse/invoices/?token={alice}", {"Last-Event-ID": "1-0"}) as stream:
        event_id, message = stream.message()
        assert event_id is None
        assert message == {"type": "stream.reset", "stream": "invoices"}


def test_with_several_channels_a_last_event_id_resets_each_stream(server: Server, alice: str) -> None:
    url = f"{server.base}/api/events/?channel=invoices&channel=leaderboard&token={alice}"
    with open_stream(url, {"Last-Event-ID": "1-0"}) as stream:
        got = [stream.message()[1] for _ in range(2)]
    assert got == [{"type": "stream.reset", "stream": "invoices"}, {"type": "stream.reset", "stream": "leaderboard"}]


def short_token(server: Server, username: str, seconds: float) -> tuple[str, float]:
    """An access token of `username` that expires in `seconds`, signed with the server's key."""
    me = api(server, server.token(username)).get("/api/auth/me/").json()
    now = time.time()
    claims: dict[str, Any] = {
        "token_type": "access",
        "exp": int(now + seconds),
        "iat": int(now),
        "jti": uuid.uuid4().hex,
        "user_id": str(me["id"]),
    }
    return jwt.encode(claims, server.env["SECRET_KEY"], algorithm="HS256"), float(claims["exp"])


def test_the_response_ends_when_the_token_expires(server: Server) -> None:
    token, expires_at = short_token(server, "alice", 2)
    with open_stream(f"{server.base}/api/sales/sse/invoices/?token={token}") as stream:
        comments = []
        with pytest.raises(EOFError):
            while True:
                comments += stream.block().comments
        ended_at = time.time()
    assert comments[-1] == "token expired"
    assert expires_at - 1 <= ended_at <= expires_at + 5
    reply = httpx.get(f"{server.base}/api/sales/sse/invoices/?token={token}")
    assert reply.status_code == 401


def test_a_closed_client_leaves_the_hub(server: Server, alice: str) -> None:
    def open_sse() -> float:
        metrics = httpx.get(f"{server.base}/metrics").text
        line = next((m for m in metrics.splitlines() if m.startswith('syncline_connections_open{route="sse"}')), "")
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    before = open_sse()
    stream = open_stream(f"{server.base}/api/sales/sse/invoices/?token={alice}")
    assert open_sse() == before + 1
    stream.close()
    deadline = time.monotonic() + 5
    while open_sse() != before and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the disconnect on its own time; nothing to await here
    assert open_sse() == before


def test_sse_responses_and_sockets_share_the_per_user_cap() -> None:
    with Server({"REALTIME_MAX_SOCKETS_PER_USER": "3"}) as capped, contextlib.ExitStack() as stack:
        token = capped.token("alice")
        url = f"{capped.base}/api/sales/sse/invoices/?token={token}"
        socket_url = f"{capped.ws}/ws/notifications/?token={token}"
        # Requests abandoned at once give back their slots (a response dropped before its body
        # starts, a window too short to hit from here: tests/sse/test_slots.py).
        host, port = "127.0.0.1", capped.port
        for _ in range(20):
            with socket.create_connection((host, port)) as abandoned:
                abandoned.sendall(f"GET {url.removeprefix(capped.base)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())

        streams: list[SseStream] = []

        def opened() -> bool:
            stream = SseStream(url)
            if stream.response.status_code == 429:
                stream.close()
                return False
            assert stream.block().comments == ["connected"]
            streams.append(stream)
            return True

        wait_until(opened, "the abandoned requests' slots were given back", timeout=10)
        first = streams.pop()
        second = open_stream(url)
        ws = stack.enter_context(websockets.sync.client.connect(socket_url))
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
        # The user holds 3 connections: a fourth is refused, as SSE and as a socket.
        refused_before = refusals(capped)
        reply = httpx.get(url, timeout=10)
        assert reply.status_code == 429, reply.text
        assert "too many connections" in reply.json()["detail"]
        assert refusals(capped) == refused_before + 1
        with websockets.sync.client.connect(socket_url) as fourth, pytest.raises(ConnectionClosed) as closed:
            fourth.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        # Another user is not affected.
        with open_stream(f"{capped.base}/api/sales/sse/invoices/?token={capped.token('bob')}"):
            pass
        # A closed stream frees its slot.
        first.close()
        wait_until(opened, "a closed SSE response gave back its slot", timeout=10)
        streams.pop().close()
        second.close()


def refusals(server: Server) -> float:
    """SSE requests refused 429, from /metrics."""
    values = metric_values(httpx.get(f"{server.base}/metrics").text)
    return values.get('syncline_socket_closes_total{code="sse_too_many"}', 0.0)
