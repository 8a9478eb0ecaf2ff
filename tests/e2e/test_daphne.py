"""End to end: real Daphne processes, real WebSocket clients, a real HTTP client."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from apps.realtime.events import validate
from tests.support import Server, ws_json


async def pong(ws: websockets.ClientConnection) -> None:
    """The server handles a socket's messages in order: after pong, its subscription is live."""
    await ws.send(json.dumps({"type": "ping"}))
    while (await ws_json(ws))["type"] != "pong":
        pass


def north_id(server: Server, token: str) -> int:
    me = httpx.get(f"{server.base}/api/auth/me/", headers={"Authorization": f"Bearer {token}"}).json()
    return int(me["units"][0]["id"])


async def test_a_post_approve_reaches_the_socket_of_another_member() -> None:
    with Server({}) as server:
        alice, bob = server.token("alice"), server.token("bob")
        unit = north_id(server, alice)
        async with websockets.connect(f"{server.ws}/ws/requests/{unit}/?token={alice}") as ws:
            await pong(ws)
            auth = {"Authorization": f"Bearer {bob}"}
            created = httpx.post(
                f"{server.base}/api/requests/",
                json={"unit": unit, "request_type": "storage", "title": "e2e"},
                headers=auth,
            )
            assert created.status_code == 201
            event = await ws_json(ws)
            validate(event)
            assert (event["action"], event["request_id"]) == ("created", created.json()["id"])
            approved = httpx.post(
                f"{server.base}/api/requests/{created.json()['id']}/approve/",
                headers={"Authorization": f"Bearer {alice}"},
            )
            assert approved.status_code == 200
            event = await ws_json(ws)
            assert (event["type"], event["action"], event["status"]) == ("request.updated", "approved", "approved")


async def test_a_refused_socket_reads_its_close_code_through_daphne() -> None:
    with Server({}) as server:
        carol = server.token("carol")
        unit = north_id(server, server.token("alice"))
        async with websockets.connect(f"{server.ws}/ws/requests/{unit}/?token={carol}") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_two_daphne_processes_share_one_redis(redis_url: str) -> None:
    """A socket on one process receives an event made through the other."""
    import uuid

    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": f"e2e{uuid.uuid4().hex[:8]}"}
    with Server(env) as first:
        second = Server(env, db=first.db).start(migrate=False)
        try:
            alice = first.token("alice")
            unit = north_id(first, alice)
            async with websockets.connect(f"{first.ws}/ws/requests/{unit}/?token={alice}") as ws:
                await pong(ws)
                created = httpx.post(
                    f"{second.base}/api/requests/",
                    json={"unit": unit, "request_type": "withdrawal", "title": "across processes"},
                    headers={"Authorization": f"Bearer {second.token('bob')}"},
                )
                assert created.status_code == 201
                event = await ws_json(ws)
                assert event["request_id"] == created.json()["id"] and event["data"]["title"] == "across processes"
        finally:
            second.stop()
