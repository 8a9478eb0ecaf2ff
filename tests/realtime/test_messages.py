"""Client messages through the whole ASGI app: every reply code, the rate limit, the 4400
cases, comments and typing over a socket."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.http import Http404
from rest_framework.permissions import IsAdminUser

from apps.realtime.events import validate
from apps.realtime.messages import on_message, parse_rate
from apps.requests.streams import request_item
from tests.support import Demo, close_code, connect, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


# Handlers only these tests send to, for the replies no real handler gives on demand.
@on_message(request_item, "test.staff_only", permission_classes=[IsAdminUser])
def staff_only(*, user: Any, data: dict[str, Any], request_id: int) -> dict[str, Any]:
    return {"seen": True}


@on_message(request_item, "test.gone")
def gone(*, user: Any, data: dict[str, Any], request_id: int) -> None:
    raise Http404("no such thing")


@on_message(request_item, "test.broken")
async def broken(*, user: Any, data: dict[str, Any], request_id: int) -> None:
    raise RuntimeError("a bug in a handler")


@on_message(request_item, "test.echo")
async def echo(*, user: Any, data: dict[str, Any], request_id: int) -> dict[str, Any]:
    return {"user": user.username, "request_id": request_id, "data": data}


def a_north_request(demo: Demo) -> tuple[int, int]:
    from apps.requests.models import Request

    request = Request.objects.filter(unit__name="North").first()
    assert request is not None
    return request.pk, request.unit_id


async def open_request_socket(demo: Demo, username: str, request_id: int) -> Any:
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(f"/ws/request/{request_id}/?token={token}")
    assert accepted
    await ready(ws)
    return ws


async def send(
    ws: Any, ref: str, stream: str, event: str, data: Any = None, before: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Send one message; the reply with its ref. What arrives before it goes to `before`."""
    body: dict[str, Any] = {"type": "message", "ref": ref, "stream": stream, "event": event}
    if data is not None:
        body["data"] = data
    await ws.send_json_to(body)
    while True:
        frame = await receive(ws, timeout=10)
        if frame["type"] == "reply" and frame["ref"] == ref:
            return frame
        assert frame["type"] != "__closed__", frame
        if before is not None:
            before.append(frame)


async def test_comment_create_replies_with_the_comment_and_reaches_both_streams(layer: str, demo: Demo) -> None:
    from apps.audit.models import AuditEntry

    request_id, unit_id = await sync_to_async(a_north_request)(demo)
    alice = await open_request_socket(demo, "alice", request_id)
    token = await sync_to_async(demo.token)("bob")
    bob_unit, _, _ = await connect(f"/ws/requests/{unit_id}/?token={token}")
    await ready(bob_unit)
    stream = f"requests.item.{request_id}"
    early: list[dict[str, Any]] = []  # the event may overtake the reply
    reply = await send(alice, "c1", stream, "comment.create", {"body": "Crate 12 is in the basement."}, early)
    assert reply["status"] == "ok", reply
    comment = reply["data"]
    assert set(comment) == {"id", "request", "author", "body", "created_at"}
    assert (comment["request"], comment["author"], comment["body"]) == (
        request_id,
        "alice",
        "Crate 12 is in the basement.",
    )
    for ws, name in ((alice, stream), (bob_unit, f"requests.unit.{unit_id}")):
        event = early.pop() if ws is alice and early else await receive(ws, timeout=10)
        validate(event)
        assert (event["type"], event["stream"], event["comment_id"], event["request_id"]) == (
            "comment.created",
            name,
            comment["id"],
            request_id,
        )
        assert event["data"] == comment and event["updated_by"] == "alice"
    entry = await sync_to_async(AuditEntry.objects.filter(action="commented").get)()
    assert (entry.object_type, entry.object_id, entry.changes) == ("comment", comment["id"], {"body": comment["body"]})
    await alice.disconnect()
    await bob_unit.disconnect()


async def test_every_error_reply_code(
    memory_layer: str, demo: Demo, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    settings.REALTIME = {**settings.REALTIME, "MESSAGE_RATE": 100}  # a dozen messages at once here
    request_id, _ = await sync_to_async(a_north_request)(demo)
    other_id = await sync_to_async(lambda: a_north_request(demo)[0] + 100000)()
    ws = await open_request_socket(demo, "alice", request_id)
    stream = f"requests.item.{request_id}"

    def error(reply: dict[str, Any]) -> tuple[str, str]:
        assert reply["status"] == "error", reply
        return reply["error"]["code"], reply["error"]["detail"]

    invalid = await send(ws, "1", stream, "comment.create", {"body": ""})
    assert error(invalid)[0] == "invalid" and set(invalid["error"]["fields"]) == {"body"}
    too_long = await send(ws, "2", stream, "comment.create", {"body": "x" * 2001})
    assert error(too_long)[0] == "invalid" and "body" in too_long["error"]["fields"]
    not_an_object = await send(ws, "3", stream, "comment.create", ["body"])
    assert error(not_an_object)[0] == "invalid"
    assert error(await send(ws, "4", stream, "test.staff_only", {}))[0] == "forbidden"
    assert error(await send(ws, "5", stream, "test.gone", {}))[0] == "not_found"
    unsubscribed = await send(ws, "6", f"requests.item.{other_id}", "comment.create", {"body": "hi"})
    assert error(unsubscribed)[0] == "not_subscribed"
    assert error(await send(ws, "7", "nothing", "comment.create", {}))[0] == "not_subscribed"
    assert error(await send(ws, "8", stream, "comment.delete", {}))[0] == "unknown_event"
    assert error(await send(ws, "9", stream, "ping", {}))[0] == "unknown_event"  # no control type by this door
    with caplog.at_level(logging.ERROR, logger="apps.realtime.messages"):
        assert error(await send(ws, "10", stream, "test.broken", {})) == (
            "server_error",
            "the server failed to handle this message",
        )
    logged = [r for r in caplog.records if r.name == "apps.realtime.messages"]
    assert logged and logged[0].exc_info is not None, "a failing handler is logged with its traceback"
    await ready(ws)  # the socket stays open after every one of them
    await ws.disconnect()


async def test_a_handler_gets_the_user_the_stream_parameters_and_the_data(memory_layer: str, demo: Demo) -> None:
    request_id, _ = await sync_to_async(a_north_request)(demo)
    token = await sync_to_async(demo.token)("bob")
    ws, _, _ = await connect(f"/ws/?token={token}")  # the multiplexed socket, once subscribed
    stream = f"requests.item.{request_id}"
    await ws.send_json_to({"type": "subscribe", "stream": stream})
    assert await receive(ws) == {"type": "subscribed", "stream": stream}
    reply = await send(ws, "r", stream, "test.echo", {"n": 1})
    assert reply == {
        "type": "reply",
        "ref": "r",
        "status": "ok",
        "data": {"user": "bob", "request_id": request_id, "data": {"n": 1}},
    }
    await ws.disconnect()


async def test_past_five_messages_a_second_the_replies_are_rate_limited(
    memory_layer: str, demo: Demo, settings: Any
) -> None:
    settings.REALTIME = {**settings.REALTIME, "MESSAGE_RATE": 1}  # so that a loaded machine cannot refill it
    request_id, _ = await sync_to_async(a_north_request)(demo)
    ws = await open_request_socket(demo, "alice", request_id)
    stream = f"requests.item.{request_id}"
    for n in range(4):
        await ws.send_json_to({"type": "message", "ref": f"m{n}", "stream": stream, "event": "test.echo"})
    replies = [await receive(ws, timeout=10) for _ in range(4)]
    assert [r["ref"] for r in replies] == ["m0", "m1", "m2", "m3"], "one reply each, in order"
    assert replies[0]["status"] == "ok"
    limited = [r for r in replies if r["status"] == "error"]
    assert limited and all(r["error"]["code"] == "rate_limited" for r in limited)
    await ready(ws)
    await ws.disconnect()


def test_the_default_message_rate_is_five_a_second(settings: Any) -> None:
    from apps.realtime.messages import Dispatcher

    bucket = Dispatcher().bucket
    assert (bucket.rate, bucket.burst) == (5, 5)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]


@pytest.mark.parametrize(
    "body",
    [
        {"stream": "s", "event": "e"},
        {"ref": "", "stream": "s", "event": "e"},
        {"ref": "x" * 65, "stream": "s", "event": "e"},
        {"ref": 5, "stream": "s", "event": "e"},
        {"ref": None},
    ],
)
async def test_a_message_without_a_usable_ref_closes_4400(memory_layer: str, demo: Demo, body: dict) -> None:
    request_id, _ = await sync_to_async(a_north_request)(demo)
    ws = await open_request_socket(demo, "alice", request_id)
    await ws.send_json_to({"type": "message", **body})
    assert await close_code(ws) == 4400


async def test_typing_reaches_the_other_subscribers_without_an_id_and_is_not_kept(layer: str, demo: Demo) -> None:
    from apps.realtime.history import get_history

    request_id, _ = await sync_to_async(a_north_request)(demo)
    alice = await open_request_socket(demo, "alice", request_id)
    alice_other_tab = await open_request_socket(demo, "alice", request_id)
    bob = await open_request_socket(demo, "bob", request_id)
    stream = f"requests.item.{request_id}"
    alice_id = await sync_to_async(lambda: demo.user("alice").pk)()
    assert await send(alice, "t", stream, "typing", {}) == {"type": "reply", "ref": "t", "status": "ok", "data": {}}
    expected = {"type": "comment.typing", "stream": stream, "user_id": alice_id, "username": "alice"}
    assert await receive(bob, timeout=10) == expected
    assert await receive(alice_other_tab, timeout=10) == expected, "the sender's other sockets get it"
    assert await nothing_more(alice, 0.5), "not sent back to the socket that sent it"
    assert await get_history().entries(stream) == []
    for ws in (alice, alice_other_tab, bob):
        await ws.disconnect()


def test_a_rate_is_read_as_drf_writes_it() -> None:
    assert parse_rate("5/s") == (5, 5) and parse_rate("30/m") == (0.5, 30)
    for bad in ("5", "five/s", "0/s", "5/week"):
        with pytest.raises(ValueError, match="rate"):
            parse_rate(bad)
    with pytest.raises(ValueError, match="two handlers"):
        on_message(request_item, "test.echo")(echo)


async def test_a_non_member_cannot_read_a_request_stream_nor_send_to_it(memory_layer: str, demo: Demo) -> None:
    request_id, _ = await sync_to_async(a_north_request)(demo)
    token = await sync_to_async(demo.token)("carol")  # South
    refused, _, _ = await connect(f"/ws/request/{request_id}/?token={token}")
    assert await close_code(refused) == 4403
    ws, _, _ = await connect(f"/ws/?token={token}")
    stream = f"requests.item.{request_id}"
    await ws.send_json_to({"type": "subscribe", "stream": stream})
    assert (await receive(ws))["code"] == 4403
    reply = await send(ws, "c", stream, "comment.create", {"body": "let me in"})
    assert (reply["status"], reply["error"]["code"]) == ("error", "not_subscribed")
    from apps.requests.models import Comment

    assert not await sync_to_async(Comment.objects.exists)()
    await ws.disconnect()
