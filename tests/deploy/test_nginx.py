"""
nginx on the shipped site config (deploy/nginx/syncline.conf) in front of two run_asgi.sh
processes sharing one Redis and one database: WebSocket and SSE clients get their events
through it, and neither nginx's access log nor Daphne's holds a token.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from tests.deploy import stack
from tests.deploy.conftest import Stack

# An SSE response stays open: no read timeout (the test's own waits bound it).
SSE_TIMEOUT = httpx.Timeout(10, read=None)


async def test_a_websocket_client_gets_its_events_through_nginx(nginx_stack: Stack) -> None:
    s = nginx_stack
    token = await asyncio.to_thread(s.api.token, "alice")
    async with websockets.connect(f"{s.ws}/ws/requests/{s.north}/?token={token}") as ws:
        await stack.pong(ws)
        request_id = await asyncio.to_thread(s.api.approve_new_request, s.north, "through nginx, socket")
        event = await stack.event_for(ws, request_id)
    assert event["type"] == "request.updated"
    assert event["stream"] == f"requests.unit.{s.north}"
    assert event["status"] == "approved"


async def _sse_lines(response: httpx.Response, lines: asyncio.Queue[str]) -> None:
    async for line in response.aiter_lines():
        await lines.put(line)


async def _sse_event(lines: asyncio.Queue[str], request_id: int, timeout: float = 10) -> tuple[str, dict[str, Any]]:
    """(id, envelope) of the `approved` event of this request on an SSE response."""

    async def read() -> tuple[str, dict[str, Any]]:
        event_id = ""
        while True:
            line = await lines.get()
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                envelope = json.loads(line[6:])
                if envelope.get("request_id") == request_id and envelope.get("action") == "approved":
                    return event_id, envelope

    return await asyncio.wait_for(read(), timeout)


async def test_socket_and_sse_clients_on_different_processes_get_the_same_event_through_nginx(
    nginx_stack: Stack,
) -> None:
    s = nginx_stack
    token = await asyncio.to_thread(s.api.token, "alice")
    stream = f"requests.unit.{s.north}"
    async with (
        websockets.connect(f"{s.ws}/ws/requests/{s.north}/?token={token}") as ws,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.nginx.port}", timeout=SSE_TIMEOUT) as http,
        http.stream("GET", f"/api/events/?channel={stream}&token={token}") as response,
    ):
        await stack.pong(ws)
        assert response.status_code == 200, (await response.aread())[:300]
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines: asyncio.Queue[str] = asyncio.Queue()
        reader = asyncio.create_task(_sse_lines(response, lines))
        try:
            # The first comment is written once the response is subscribed.
            assert (await asyncio.wait_for(lines.get(), 10)).startswith(":")
            # least_conn sent the second connection to the other process: each process
            # counts the one it holds.
            expected = [("socket",), ("sse",)]
            opened = await asyncio.to_thread(_open_connections, s, expected)
            request_id = await asyncio.to_thread(s.api.approve_new_request, s.north, "through nginx, socket and SSE")
            socket_event = await stack.event_for(ws, request_id)
            sse_id, sse_event = await _sse_event(lines, request_id)
        finally:
            reader.cancel()
    assert sorted(opened.values()) == expected, opened
    assert sse_id == socket_event["id"]
    assert sse_event == socket_event


def _open_connections(s: Stack, expected: list[tuple[str]]) -> dict[str, tuple[str, ...]]:
    """For each process, the kinds of connection its /metrics counts as open; read again for
    a few seconds while it differs from `expected` (an earlier test's socket may still be closing)."""
    deadline = time.monotonic() + 5
    while True:
        kinds: dict[str, tuple[str, ...]] = {}
        for web in (s.web_tcp, s.web_unix):
            with web.client() as client:
                gauges = stack.parse_metrics(client.get("/metrics").text)["syncline_connections_open"]
            routes = [labels for labels, value in gauges.items() for _ in range(int(value))]
            kinds[web.upstream] = tuple(sorted("sse" if 'route="sse"' in r else "socket" for r in routes))
        if sorted(kinds.values()) == expected or time.monotonic() > deadline:
            return kinds
        time.sleep(0.1)


async def test_no_access_log_holds_a_token_or_ticket(nginx_stack: Stack) -> None:
    s = nginx_stack
    token = await asyncio.to_thread(s.api.token, "alice")
    ticket = (await asyncio.to_thread(s.api.call, "alice", "POST", "/api/auth/ws-ticket/"))["ticket"]
    async with websockets.connect(f"{s.ws}/ws/requests/{s.north}/?ticket={ticket}") as ws:
        await stack.pong(ws)
    async with websockets.connect(f"{s.ws}/ws/requests/{s.north}/?token={token}") as ws:
        await stack.pong(ws)
    # A complete HTTP response with the token in its query string (Daphne logs HTTP
    # requests when they complete; an SSE response never does on its own).
    await asyncio.to_thread(s.api.client.get, f"/healthz?token={token}&ticket={ticket}")
    with s.web_tcp.client() as direct:
        await asyncio.to_thread(direct.get, f"/healthz?token={token}")

    nginx_log = s.nginx.access_log.read_text()
    daphne_logs = s.web_tcp.log.read_text() + s.web_unix.log.read_text()
    # The logs are written: the paths are there, without their query strings.
    assert "GET /healthz HTTP/1.1" in nginx_log
    assert f"/ws/requests/{s.north}/" in nginx_log
    assert "GET /healthz 200" in daphne_logs
    assert f"WSCONNECT /ws/requests/{s.north}/" in daphne_logs
    for log in (nginx_log, daphne_logs):
        assert token not in log
        assert ticket not in log
        assert "token=" not in log


def test_metrics_are_scraped_from_each_process_not_through_nginx(nginx_stack: Stack) -> None:
    s = nginx_stack
    assert s.api.client.get("/metrics").status_code == 404
    for web in (s.web_tcp, s.web_unix):
        with web.client() as client:
            r = client.get("/metrics")
        assert r.status_code == 200
        assert "syncline_connections_open" in r.text


def test_nginx_spreads_requests_over_every_process(nginx_stack: Stack) -> None:
    s = nginx_stack
    for _ in range(4):  # no connection open: least_conn takes the processes in turn
        r = s.api.client.get("/readyz")
        assert r.status_code == 200
        assert r.json()["checks"]["channel_layer"]["backend"] == "pubsub"  # the default with REDIS_URL
    assert "GET /readyz 200" in s.web_tcp.log.read_text()
    assert "GET /readyz 200" in s.web_unix.log.read_text()
    assert "upstream" not in s.nginx.errors()
