"""The generic consumer through the whole ASGI app, on every transport."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.realtime.events import validate
from tests.support import Demo, close_code, connect, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


def approve_first_pending(demo: Demo, username: str = "alice") -> int:
    from apps.requests.models import Request

    request = Request.objects.filter(unit__name="North", status="pending").first()
    assert request is not None
    response = demo.api(username).post(f"/api/requests/{request.pk}/approve/")
    assert response.status_code == 200, response.content
    return request.pk


async def test_it_delivers_an_approval_to_every_member_of_the_unit(layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    sockets = []
    for user in ("alice", "bob", "nina"):
        token = await sync_to_async(demo.token)(user)
        ws, accepted, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
        assert accepted
        await ready(ws)
        sockets.append(ws)
    request_id = await sync_to_async(approve_first_pending)(demo)
    for ws in sockets:
        event = await receive(ws)
        validate(event)
        assert (event["type"], event["action"], event["request_id"]) == ("request.updated", "approved", request_id)
        assert event["stream"] == f"requests.unit.{north.pk}"
        assert event["status"] == "approved" and event["data"]["status"] == "approved"
        assert event["updated_by"] == "alice"
        await ws.disconnect()


async def test_it_never_delivers_one_units_events_to_another(layer: str, demo: Demo) -> None:
    south = await sync_to_async(demo.unit)("South")
    token = await sync_to_async(demo.token)("carol")
    ws, _, _ = await connect(f"/ws/requests/{south.pk}/?token={token}")
    await ready(ws)
    await sync_to_async(approve_first_pending)(demo)
    assert await nothing_more(ws, 0.5)
    await ws.disconnect()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ws/requests/{north}/", 4401),  # no credential
        ("/ws/requests/{north}/?token=not-a-jwt", 4401),
        ("/ws/requests/{north}/?ticket=unknown", 4401),
        ("/ws/requests/abc/?token={carol}", 4400),
        ("/ws/requests/{north}/?token={carol}", 4403),
        ("/ws/requests/{north}/?token={alice}&last_event_id=garbage", 4400),
        ("/ws/storage/{north}/?token={alice}", 4403),  # approvers do not read storage
        ("/ws/audit/{north}/?token={bob}", 4403),  # requesters do not read the audit
        ("/ws/notifications/{bob_id}/?token={alice}", 4403),
        ("/ws/no-such-route/", 4404),
        ("/elsewhere/", 4404),
    ],
)
async def test_it_refuses_with_the_contract_close_code(memory_layer: str, demo: Demo, path: str, code: int) -> None:
    values = await sync_to_async(
        lambda: {
            "north": demo.unit("North").pk,
            "carol": demo.token("carol"),
            "alice": demo.token("alice"),
            "bob": demo.token("bob"),
            "bob_id": demo.user("bob").pk,
        }
    )()
    ws, accepted, _ = await connect(path.format(**values))
    assert accepted, "a refused socket is accepted first, so the client can read the code"
    assert await close_code(ws) == code


async def test_expired_token_is_refused_with_4401(memory_layer: str, demo: Demo) -> None:
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    north = await sync_to_async(demo.unit)("North")
    alice = await sync_to_async(demo.user)("alice")
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=-1))
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    assert await close_code(ws) == 4401


async def test_a_token_that_expires_while_connected_closes_4401(memory_layer: str, demo: Demo) -> None:
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    north = await sync_to_async(demo.unit)("North")
    alice = await sync_to_async(demo.user)("alice")
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=3))  # outlives the handshake on a loaded machine
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={token}")
    await ready(ws)
    assert await close_code(ws, timeout=8) == 4401


async def test_auth_refresh_keeps_the_socket_open_past_the_old_expiry(memory_layer: str, demo: Demo) -> None:
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    north = await sync_to_async(demo.unit)("North")
    alice = await sync_to_async(demo.user)("alice")
    short = AccessToken.for_user(alice)
    short.set_exp(lifetime=timedelta(seconds=3))
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={short}")
    await ws.send_json_to({"type": "auth.refresh", "token": str(AccessToken.for_user(alice))})
    assert (await receive(ws))["type"] == "auth.refreshed"
    assert await nothing_more(ws, 4.0)  # past the first token's exp: the time under test
    await ready(ws)
    await ws.disconnect()


async def test_auth_refresh_with_another_users_token_is_refused(memory_layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    alice, bob = await sync_to_async(lambda: (demo.token("alice"), demo.token("bob")))()
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/?token={alice}")
    await ws.send_json_to({"type": "auth.refresh", "token": bob})
    reply = await receive(ws)
    assert (reply["type"], reply["code"]) == ("error", 4401)
    await ws.disconnect()


async def test_bearer_subprotocol_authenticates_and_is_echoed(memory_layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    token = await sync_to_async(demo.token)("alice")
    ws, accepted, _ = await connect(f"/ws/requests/{north.pk}/", subprotocols=["bearer", token])
    assert accepted
    await ready(ws)
    await ws.disconnect()


async def test_a_ticket_opens_one_socket_only(memory_layer: str, demo: Demo) -> None:
    north = await sync_to_async(demo.unit)("North")
    response = await sync_to_async(lambda: demo.api("alice").post("/api/auth/ws-ticket/"))()
    assert response.status_code == 200
    body = response.json()
    assert 0 < body["expires_in"] <= 30
    first, _, _ = await connect(f"/ws/requests/{north.pk}/?ticket={body['ticket']}")
    await ready(first)
    second, _, _ = await connect(f"/ws/requests/{north.pk}/?ticket={body['ticket']}")
    assert await close_code(second) == 4401
    await first.disconnect()


async def test_session_cookie_authenticates(memory_layer: str, demo: Demo) -> None:
    from django.test import Client

    north = await sync_to_async(demo.unit)("North")

    def login() -> str:
        client = Client()
        assert client.login(username="alice", password="demo-pass-123")
        return client.cookies["sessionid"].value

    session = await sync_to_async(login)()
    ws, _, _ = await connect(f"/ws/requests/{north.pk}/", headers=[(b"cookie", f"sessionid={session}".encode())])
    await ready(ws)
    await ws.disconnect()


async def test_cross_site_origin_is_refused_at_the_handshake(memory_layer: str, demo: Demo, settings) -> None:
    settings.ALLOWED_HOSTS = ["app.example.com"]
    settings.WS_ALLOWED_ORIGINS = ["https://front.example.com"]
    _, accepted, _ = await connect("/ws/health/", headers=[(b"origin", b"https://evil.example.net")])
    assert not accepted
    ok, accepted, _ = await connect("/ws/health/", headers=[(b"origin", b"https://front.example.com")])
    assert accepted
    await ok.disconnect()


async def test_ping_answers_pong_on_every_route(memory_layer: str, demo: Demo) -> None:
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "ping"})
    assert (await receive(ws))["type"] == "pong"
    await ws.disconnect()


async def test_health_socket_reports_checks(memory_layer: str, demo: Demo) -> None:
    ws, _, _ = await connect("/ws/health/")
    await ws.send_json_to({"type": "ping"})
    pong = await receive(ws)
    assert pong["type"] == "pong" and pong["status"] == "ok"
    assert pong["checks"]["database"]["ok"] and pong["checks"]["channel_layer"]["ok"]
    await ws.disconnect()


async def test_unreadable_frame_closes_4400_and_unknown_type_is_an_error(memory_layer: str, demo: Demo) -> None:
    token = await sync_to_async(demo.token)("alice")
    ws, _, _ = await connect(f"/ws/?token={token}")
    await ws.send_json_to({"type": "websocket.disconnect"})  # not a handler the client can pick
    reply = await receive(ws)
    assert (reply["type"], reply["code"]) == ("error", 4400)
    await ws.send_to(text_data="{not json")
    assert await close_code(ws) == 4400
