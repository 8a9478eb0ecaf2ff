"""
`GET /metrics` of a production process after real traffic: every series is there, and each
one moves when what it counts happens. The outbox series move when Redis goes away under a
committed change, which the relay then publishes once Redis is back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests import support
from tests.deploy import stack
from tests.deploy.conftest import Stack, database_copy

SERIES = (
    "syncline_connections_open",
    "syncline_events_published_total",
    "syncline_events_delivered_total",
    "syncline_socket_closes_total",
    "syncline_replays_total",
    "syncline_resets_total",
    "syncline_transport_errors_total",
    "syncline_outbox_retries_total",
    "syncline_outbox_backlog",
    "syncline_delivery_latency_seconds",
    "syncline_asyncio_tasks",
)
Metrics = dict[str, dict[str, float]]


@dataclass
class Traffic:
    while_open: Metrics  # scraped with one socket open
    after: Metrics  # scraped when the traffic is over


async def _traffic(web: stack.Web, api: stack.Api, unit: int) -> Traffic:
    token = await asyncio.to_thread(api.token, "alice")
    base = f"ws://127.0.0.1:{web.port}/ws/requests/{unit}/"
    async with websockets.connect(f"{base}?token={token}") as ws:
        await stack.pong(ws)
        request_id = await asyncio.to_thread(api.approve_new_request, unit, "metrics")
        event = await stack.event_for(ws, request_id)
        with web.client() as client:
            while_open = stack.parse_metrics((await asyncio.to_thread(client.get, "/metrics")).text)
    # A resume from the event's id (replayed from history) and one from before the history.
    for last_event_id in (event["id"], "1-0"):
        async with websockets.connect(f"{base}?token={token}&last_event_id={last_event_id}") as ws:
            await stack.pong(ws)
    # A socket the server refuses: no such route.
    async with websockets.connect(f"ws://127.0.0.1:{web.port}/ws/no-such-route/?token={token}") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    with web.client() as client:
        after = stack.parse_metrics((await asyncio.to_thread(client.get, "/metrics")).text)
    return Traffic(while_open, after)


@pytest.fixture(scope="module")
def traffic(nginx_stack: Stack) -> Traffic:
    web = nginx_stack.web_tcp
    with web.client() as client:
        return asyncio.run(_traffic(web, stack.Api(client), nginx_stack.north))


def test_metrics_is_prometheus_text_with_every_series(nginx_stack: Stack) -> None:
    with nginx_stack.web_tcp.client() as client:
        r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    series = stack.parse_metrics(r.text)
    assert sorted(set(SERIES) - set(series)) == []
    assert "# TYPE syncline_delivery_latency_seconds histogram" in r.text


def _value(metrics: Metrics, name: str, labels: str = "") -> float:
    return metrics.get(name, {}).get(labels, 0.0)


def test_open_connections_count_the_open_socket_by_route(traffic: Traffic) -> None:
    assert _value(traffic.while_open, "syncline_connections_open", '{route="requests"}') >= 1
    assert _value(traffic.after, "syncline_connections_open", '{route="requests"}') == 0


def test_the_event_loop_tasks_are_counted_at_scrape_time(traffic: Traffic) -> None:
    # At least the request being served, the hub's receive loop and the open socket's tasks.
    assert _value(traffic.while_open, "syncline_asyncio_tasks") >= 3


def test_published_and_delivered_events_are_counted_by_stream_kind(traffic: Traffic) -> None:
    assert _value(traffic.after, "syncline_events_published_total", '{kind="requests"}') >= 1
    assert _value(traffic.after, "syncline_events_delivered_total", '{kind="requests"}') >= 1


def test_refused_sockets_are_counted_by_close_code(traffic: Traffic) -> None:
    assert _value(traffic.after, "syncline_socket_closes_total", '{code="4404"}') >= 1


def test_resumes_and_resets_are_counted(traffic: Traffic) -> None:
    assert _value(traffic.after, "syncline_replays_total") >= 1
    assert _value(traffic.after, "syncline_resets_total") >= 1


def test_delivery_latency_is_observed_for_delivered_events(traffic: Traffic) -> None:
    assert _value(traffic.after, "syncline_delivery_latency_seconds_count") >= 1


# -- Redis away ---------------------------------------------------------------------------
@dataclass
class Outage:
    event: dict[str, Any]  # what the socket received once Redis was back
    during: Metrics
    after: Metrics


async def _outage(web: stack.Web, api: stack.Api, unit: int, redis_server: stack.RedisServer) -> Outage:
    token = await asyncio.to_thread(api.token, "alice")
    async with websockets.connect(f"ws://127.0.0.1:{web.port}/ws/requests/{unit}/?token={token}") as ws:
        await stack.pong(ws)
        redis_server.stop()
        # Committed while Redis is away: the outbox keeps it, and the relay's passes fail
        # until Redis is back.
        request_id = await asyncio.to_thread(api.approve_new_request, unit, "while redis is away")
        with web.client() as client:
            await asyncio.to_thread(
                stack.wait_until,
                lambda: _value(stack.parse_metrics(client.get("/metrics").text), "syncline_outbox_backlog") >= 1,
                "the relay counts the waiting event in the outbox backlog",
            )
            during = stack.parse_metrics((await asyncio.to_thread(client.get, "/metrics")).text)
        redis_server.start()
        event = await stack.event_for(ws, request_id, timeout=30)
    with web.client() as client:
        await asyncio.to_thread(
            stack.wait_until,
            lambda: _value(stack.parse_metrics(client.get("/metrics").text), "syncline_outbox_backlog") == 0,
            "the outbox backlog is back to 0",
        )
        # The pub/sub layer reconnects on its own; the restart watch counts the new Redis when
        # it next asks (every 2 s), which can be after the event arrived.
        await asyncio.to_thread(
            stack.wait_until,
            lambda: _value(stack.parse_metrics(client.get("/metrics").text), "syncline_transport_errors_total") >= 1,
            "the lost Redis connection is counted",
        )
        after = stack.parse_metrics((await asyncio.to_thread(client.get, "/metrics")).text)
    return Outage(event, during, after)


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory, demo_database: Path) -> Iterator[Outage]:
    tmp = tmp_path_factory.mktemp("outage")
    redis_server = stack.RedisServer().start()
    env = stack.app_env(database_copy(demo_database, tmp), redis_server.url, f"out{uuid.uuid4().hex[:8]}")
    web = stack.Web(env, tmp / "web.log", port=support.free_port())
    try:
        web.start()
        with web.client() as client:
            api = stack.Api(client)
            unit = api.unit_id("alice", "North")
            api.token("bob")  # signed in before Redis goes away
            yield asyncio.run(_outage(web, api, unit, redis_server))
    finally:
        if web.proc is not None:
            web.stop()
        redis_server.stop()


def test_a_change_committed_while_redis_is_away_reaches_the_socket_when_it_is_back(outage: Outage) -> None:
    assert outage.event["type"] == "request.updated"
    assert outage.event["status"] == "approved"


def test_the_outbox_series_count_the_retry_and_the_backlog(outage: Outage) -> None:
    assert _value(outage.during, "syncline_outbox_retries_total") >= 1
    assert _value(outage.during, "syncline_outbox_backlog") >= 1
    assert _value(outage.after, "syncline_outbox_backlog") == 0


def test_transport_errors_count_the_lost_redis_connection(outage: Outage) -> None:
    assert _value(outage.after, "syncline_transport_errors_total") >= 1
