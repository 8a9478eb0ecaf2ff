"""The multiplexed /ws/ route: subscribe, unsubscribe, per-stream authorization."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.realtime.test_consumer import approve_first_pending
from tests.support import Demo, connect, nothing_more, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_socket_reads_several_streams(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("nina")
    ws, _, _ = await connect(f"/ws/?token={token}")
    for name in (f"requests.unit.{north.pk}", f"audit.unit.{north.pk}"):
        await ws.send_json_to({"type": "subscribe", "stream": name})
        assert await receive(ws) == {"type": "subscribed", "stream": name}
    await sync_to_async(approve_first_pending)(demo)
    got = {(await receive(ws))["type"], (await receive(ws))["type"]}
    assert got == {"request.updated", "audit.created"}
    await ws.send_json_to({"type": "unsubscribe", "stream": f"audit.unit.{north.pk}"})
    assert (await receive(ws))["type"] == "unsubscribed"
    await ws.disconnect()


async def test_subscribe_refusals_are_error_frames(memory_layer: str, demo: Demo) -> None:
    north, south = await sync_to_async(lambda: (demo.unit("North"), demo.unit("South")))()
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "subscribe", "stream": f"requests.unit.{south.pk}"})
    reply = await receive(ws)
    assert (reply["type"], reply["code"], reply["stream"]) == ("error", 4403, f"requests.unit.{south.pk}")
    await ws.send_json_to({"type": "subscribe", "stream": "nothing.here"})
    assert (await receive(ws))["code"] == 4404
    await ws.send_json_to({"type": "subscribe", "stream": f"requests.unit.{north.pk}", "last_event_id": "x"})
    assert (await receive(ws))["code"] == 4400
    await sync_to_async(approve_first_pending)(demo)
    assert await nothing_more(ws)
    await ws.disconnect()
