"""
The per-user connection slot of an SSE response, at the view: taken when the response is
made, given back when its body ends, or when Django drops the response before its body
starts (the client went away in between: the body's `finally` never runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from asgiref.sync import sync_to_async
from django.test import AsyncRequestFactory

from apps.realtime import sse
from apps.realtime.limits import per_user
from tests import support


async def open_response(token: str) -> Any:
    return await sse.events(AsyncRequestFactory().get(f"/api/events/?channel=invoices&token={token}"))


async def test_a_slot_is_given_back_when_the_body_ends_or_the_response_is_dropped_unstarted(
    demo: support.Demo, memory_layer: str, settings: Any
) -> None:
    settings.REALTIME = {**settings.REALTIME, "MAX_SOCKETS_PER_USER": 2}
    alice, token = await sync_to_async(demo.user)("alice"), await sync_to_async(demo.token)("alice")
    first, second = await open_response(token), await open_response(token)
    assert (first.status_code, second.status_code, per_user.open[alice.pk]) == (200, 200, 2)

    refused = await open_response(token)
    assert refused.status_code == 429 and b"too many connections" in refused.content

    # The first one streams, then the client goes away: Django cancels the task sending it.
    connected = asyncio.Event()

    async def send_response() -> None:
        async for chunk in first:
            assert chunk == b": connected\n\n"
            connected.set()

    sending = asyncio.create_task(send_response())
    await connected.wait()
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    assert per_user.open[alice.pk] == 1

    # The second one is dropped before its body starts.
    del second
    gc.collect()
    assert alice.pk not in per_user.open
    third = await open_response(token)
    assert third.status_code == 200
    del third
    gc.collect()
