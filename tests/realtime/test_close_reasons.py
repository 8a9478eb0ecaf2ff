"""Every close frame says why, in process and under Daphne; a subscribe without a stream
name is a malformed message."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from apps.realtime.connection import CloseCode
from tests.support import Demo, Server, connect, receive

pytestmark = pytest.mark.django_db(transaction=True)

# (path, code, reason): every one a refusal a client meets.
REFUSALS = [
    ("/ws/requests/{north}/", 4401, "authentication required"),
    ("/ws/requests/{north}/?token=not-a-jwt", 4401, "invalid token"),
    ("/ws/requests/abc/?token={alice}", 4400, "unit_id must be an integer"),
    ("/ws/requests/{north}/?token={alice}&last_event_id=garbage", 4400, "event id"),
    ("/ws/requests/{south}/?token={alice}", 4403, "not allowed on this stream"),
    ("/ws/no-such-route/", 4404, "no such route"),
]


async def close_frame(ws: object) -> dict[str, object]:
    while True:
        message = await ws.receive_output(5)  # type: ignore[attr-defined]
        if message["type"] == "websocket.close":
            return dict(message)


@pytest.mark.parametrize(("path", "code", "reason"), REFUSALS)
async def test_a_refused_socket_is_closed_with_a_code_and_a_reason(
    memory_layer: str, demo: Demo, path: str, code: int, reason: str
) -> None:
    values = await sync_to_async(
        lambda: {"north": demo.unit("North").pk, "south": demo.unit("South").pk, "alice": demo.token("alice")}
    )()
    ws, accepted, _ = await connect(path.format(**values))
    assert accepted
    frame = await close_frame(ws)
    assert frame["code"] == code
    assert reason in str(frame["reason"]), frame
    assert values["alice"] not in str(frame["reason"])


def test_every_close_code_has_a_short_reason() -> None:
    for code in CloseCode:
        assert 0 < len(code.reason.encode()) <= 123, code
    assert CloseCode.FORBIDDEN.http_status == 403 and CloseCode.TOO_MANY.http_status == 429


@pytest.mark.parametrize("body", [{}, {"stream": None}, {"stream": 5}, {"stream": ["requests.unit.1"]}])
async def test_subscribe_without_a_stream_name_is_a_bad_request(memory_layer: str, demo: Demo, body: dict) -> None:
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "subscribe", **body})
    reply = await receive(ws)
    assert (reply["type"], reply["code"]) == ("error", 4400), reply
    assert "stream" not in reply
    await ws.send_json_to({"type": "subscribe", "stream": "nothing.here"})
    assert (await receive(ws))["code"] == 4404, "a name that is no stream stays 4404"
    await ws.disconnect()


async def test_daphne_sends_the_reasons_too() -> None:
    # Daphne writes the close frame itself here (daphne.py), not through its ASGI close.
    # Generous start-up wait: this machine's load can hold the first answer back.
    server = Server({}).start(ready_timeout=120)
    try:
        alice = server.token("alice")
        me = httpx.get(f"{server.base}/api/auth/me/", headers={"Authorization": f"Bearer {alice}"}).json()
        north = me["units"][0]["id"]
        cases = [
            (f"/ws/requests/{north}/", 4401, "authentication required"),
            (f"/ws/requests/abc/?token={alice}", 4400, "unit_id must be an integer"),
            (f"/ws/audit/{north}/?token={server.token('bob')}", 4403, "not allowed on this stream"),
            ("/ws/nope/", 4404, "no such route"),
        ]
        for path, code, reason in cases:
            async with websockets.connect(server.ws + path) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
            received = closed.value.rcvd
            assert received is not None and (received.code, received.reason) == (code, reason), path
    finally:
        server.stop()
