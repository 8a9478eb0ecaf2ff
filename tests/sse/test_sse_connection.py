"""An SSE response as a hub subscriber, in process: its framing and its bounded queue."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from apps.realtime.hub import get_hub
from apps.realtime.sse import SseConnection
from apps.realtime.streams import resolve
from apps.sales.streams import invoices
from tests.support import Demo


async def test_events_are_framed_with_their_id_and_control_messages_without(memory_layer: str) -> None:
    connection = SseConnection(SimpleNamespace(pk=0), expires_at=None)
    body = connection.body([(invoices, invoices.name())], None)
    assert await anext(body) == ": connected\n\n"
    connection.push("invoices", "5-0", '{"id":"5-0","type":"invoice.updated"}')
    connection.reset("invoices")
    assert await anext(body) == (
        'id: 5-0\ndata: {"id":"5-0","type":"invoice.updated"}\n\ndata: {"type":"stream.reset","stream":"invoices"}\n\n'
    )
    await body.aclose()


async def test_a_client_that_does_not_read_is_cut_off_to_resume_and_leaves_the_hub(
    memory_layer: str, settings: Any
) -> None:
    settings.REALTIME = {**settings.REALTIME, "OUTBOUND_QUEUE": 3}
    connection = SseConnection(SimpleNamespace(pk=0), expires_at=None)
    body = connection.body([(invoices, invoices.name())], None)
    assert await anext(body) == ": connected\n\n"
    hub = await get_hub()
    assert hub.subscriber_count("invoices") == 1
    for n in range(5):  # more than the queue holds, while nothing is written to the client
        connection.push("invoices", f"7-{n}", f'{{"id":"7-{n}"}}')
    rest = [chunk async for chunk in body]
    assert rest == [": too slow: reconnect with Last-Event-ID to resume\n\n"], "queued events are dropped, not sent"
    assert hub.subscriber_count("invoices") == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["membership removed", "account deactivated"])
async def test_a_response_ends_when_its_user_loses_access(memory_layer: str, demo: Demo, change: str) -> None:
    bob = await sync_to_async(demo.user)("bob")
    north = await sync_to_async(demo.unit)("North")
    name = f"requests.unit.{north.pk}"
    found = resolve(name)
    assert found is not None
    connection = SseConnection(bob, expires_at=None)
    body = connection.body([(found[0], name)], None)
    assert await anext(body) == ": connected\n\n"

    def withdraw() -> None:
        if change == "membership removed":
            bob.memberships.filter(unit=north).delete()
        else:
            bob.is_active = False
            bob.save()

    await sync_to_async(withdraw)()
    presence_state, *rest = [chunk async for chunk in body]
    assert presence_state.startswith('data: {"type":"presence.state"')  # a presence stream
    assert rest == [
        f": access to {name} was withdrawn\n\n" if change == "membership removed" else ": account deactivated\n\n"
    ]
