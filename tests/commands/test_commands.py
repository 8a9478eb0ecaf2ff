"""Management commands: test_websocket and send_test_notification."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import tempfile
from typing import Any

import jwt
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from apps.notifications.models import Notification
from apps.realtime.events import validate
from tests.support import BACKEND, PYTHON, Demo, Server, connect, free_port, ready, receive, ws_json


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` in a process of its own, as an operator runs it."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "0",
        "SECRET_KEY": "commands-secret-key-with-enough-length-for-hs256",
        **env,
    }
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BACKEND, env=full_env, capture_output=True, text=True, timeout=60
    )


# `make run`'s default: no Redis, the in-process channel layer, background tasks in process.
EMBEDDED = {"REDIS_URL": "", "CELERY_BROKER_URL": "", "CHANNEL_LAYER": "memory"}


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.parametrize("layer", ["redis", "pubsub"], indirect=True)
def test_test_websocket_prints_ok_on_every_redis_channel_layer(layer: str) -> None:
    assert run("test_websocket") == "OK\n"


@pytest.mark.parametrize("layer", ["redis"], indirect=True)
def test_test_websocket_reports_each_check_when_verbose(layer: str) -> None:
    out = run("test_websocket", "--verbosity", "2")
    assert "channel layer: round trip in" in out and "publish path: round trip in" in out
    assert out.endswith("OK\n")


def test_test_websocket_in_the_embedded_mode_checks_the_running_server(memory_layer: str) -> None:
    with Server(EMBEDDED) as server:
        out = run("test_websocket", "--server", server.base)
    assert out == (
        "embedded mode (no REDIS_URL): this process's in-process channel layer and publish path work, "
        f"and the server at {server.base} is ready (database ok, channel_layer ok)\nOK\n"
    )


def test_test_websocket_in_the_embedded_mode_with_no_server_explains_and_exits_1() -> None:
    port = free_port()  # nothing listens there
    result = manage("test_websocket", "--timeout", "3", env={**EMBEDDED, "HOST": "0.0.0.0", "PORT": str(port)})  # noqa: S104
    assert result.returncode == 1, result
    assert f"no server answers at http://127.0.0.1:{port}/readyz" in result.stderr
    assert "start it with `make run`" in result.stderr
    assert "OK" not in result.stdout


def test_test_websocket_explains_a_dead_redis_and_exits_1() -> None:
    port = free_port()  # nothing listens there
    result = manage("test_websocket", "--timeout", "3", env={"REDIS_URL": f"redis://:secret@127.0.0.1:{port}/0"})
    assert result.returncode == 1, result
    assert "channel layer round trip failed" in result.stderr
    assert f"Redis at 127.0.0.1:{port}" in result.stderr
    assert "secret" not in result.stderr, "the Redis password must not be printed"
    assert "OK" not in result.stdout


@pytest.mark.django_db(transaction=True)
async def test_send_test_notification_delivers_to_the_user(memory_layer: str, demo: Demo) -> None:
    bob = await sync_to_async(demo.user)("bob")
    token = await sync_to_async(demo.token)("bob")
    ws, _, _ = await connect(f"/ws/notifications/{bob.pk}/?token={token}")
    await ready(ws)
    out = await sync_to_async(run)("send_test_notification", "--user-id", str(bob.pk), "--title", "Hello bob")
    assert re.fullmatch(
        rf"notification #\d+ for bob to notifications\.user\.{bob.pk} queued; "
        r"a background task of this process delivers it\n",
        out,
    ), out
    frame = await receive(ws)
    validate(frame)
    assert (frame["type"], frame["data"]["title"]) == ("notification.created", "Hello bob")
    assert frame["data"]["body"] == "Sent with manage.py send_test_notification."
    stored = await sync_to_async(Notification.objects.get)(pk=frame["notification_id"])
    assert stored.status == "sent"
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_send_test_notification_broadcasts_to_everyone(memory_layer: str, demo: Demo) -> None:
    sockets = []
    for username in ("alice", "dan"):
        token = await sync_to_async(demo.token)(username)
        ws, _, _ = await connect(f"/ws/notifications/?token={token}")
        await ready(ws)
        sockets.append(ws)
    out = await sync_to_async(run)("send_test_notification", "--broadcast", "--title", "All hands", "--body", "Now")
    assert re.fullmatch(r"broadcast [0-9a-f-]{36} published to notifications\.all\n", out), out
    for ws in sockets:
        frame = await receive(ws)
        validate(frame)
        assert (frame["type"], frame["data"]["title"], frame["data"]["body"]) == (
            "notification.broadcast",
            "All hands",
            "Now",
        )
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
def test_send_test_notification_refuses_an_unknown_user_or_no_target(memory_layer: str, demo: Demo) -> None:
    with pytest.raises(CommandError, match="no user with id 999999"):
        run("send_test_notification", "--user-id", "999999")
    with pytest.raises(CommandError, match="--user-id"):
        run("send_test_notification")
    assert not Notification.objects.exists()


def test_send_test_notification_exits_non_zero_for_an_unknown_user() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3"}
        assert manage("migrate", "--noinput", env=env).returncode == 0
        result = manage("send_test_notification", "--user-id", "999999", env=env)
    assert result.returncode == 1, result
    assert "no user with id 999999" in result.stderr


async def test_send_test_notification_from_the_command_line_reaches_a_running_embedded_server() -> None:
    """`make run`'s embedded mode: the command's process cannot reach the server's in-process
    channel layer, so it leaves its events in the database they share and the server's
    outbox relay publishes them."""
    with Server(EMBEDDED) as server:
        tokens = {name: server.token(name) for name in ("alice", "bob")}
        bob_id = str(jwt.decode(tokens["bob"], options={"verify_signature": False})["user_id"])
        sockets = {
            name: await websockets.connect(f"{server.ws}/ws/notifications/?token={token}")
            for name, token in tokens.items()
        }
        try:
            for ws in sockets.values():
                await ws.send(json.dumps({"type": "ping"}))
                assert (await ws_json(ws))["type"] == "pong"

            def command(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [PYTHON, "manage.py", "send_test_notification", *args],
                    cwd=BACKEND,
                    env=server.env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )

            personal = await asyncio.to_thread(command, "--user-id", bob_id, "--title", "From the shell")
            assert personal.returncode == 0, personal
            # One line, true: where the event went and when it arrives; nothing on stderr (no
            # contradicting note, no Celery "succeeded" line with no Celery running).
            assert re.fullmatch(
                rf"notification #\d+ for bob to notifications\.user\.{bob_id} queued in the outbox, "
                r"delivered by the running server within ~3 s\n",
                personal.stdout,
            ), personal
            assert personal.stderr == "", personal
            frame = await ws_json(sockets["bob"], timeout=15)
            validate(frame)
            assert (frame["type"], frame["data"]["title"]) == ("notification.created", "From the shell")

            everyone = await asyncio.to_thread(command, "--broadcast", "--title", "To all")
            assert everyone.returncode == 0 and everyone.stderr == "", everyone
            assert re.fullmatch(
                r"broadcast [0-9a-f-]{36} to notifications\.all queued in the outbox, "
                r"delivered by the running server within ~3 s\n",
                everyone.stdout,
            ), everyone
            for ws in sockets.values():
                frame = await ws_json(ws, timeout=15)
                assert (frame["type"], frame["data"]["title"]) == ("notification.broadcast", "To all")
        finally:
            for ws in sockets.values():
                await ws.close()
