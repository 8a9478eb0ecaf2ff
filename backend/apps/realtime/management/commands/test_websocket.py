"""
`manage.py test_websocket`: check this deployment's real-time path, as an operator would after
changing `REDIS_URL` or `CHANNEL_LAYER`:

1. channel layer: a message sent to a fresh channel of the configured layer comes back;
2. publish path: an event published the way services publish (`apps.realtime.publish.publish`:
   history, then transport) reaches a subscriber of this process's hub, as it would reach
   the sockets of a server process.

In the embedded mode (no REDIS_URL) the channel layer lives inside the server's process, out
of this command's reach, so the two round trips above only show that this process's layer
works. The command then also asks the running server (`--server`, default http://$HOST:$PORT)
for `/readyz`, which checks the server's database and channel layer, and says what it checked.

Prints `OK` and exits 0, or says which check failed and why and exits 1. `-v 2` prints
each check and its time.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.realtime.health import HealthProbe, health_probe
from apps.realtime.hub import close_hub, get_hub
from apps.realtime.publish import publish
from apps.realtime.redis_config import realtime_targets

from ...conf import realtime_settings


class Probe:
    """A hub subscriber that waits for one frame."""

    def __init__(self) -> None:
        self.frame: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    connection_id = "selftest"

    def push(self, stream: str, event_id: str, frame: str) -> None:
        if not self.frame.done():
            self.frame.set_result(frame)

    def push_ephemeral(self, stream: str, frame: str, rev: int | None) -> None:
        pass

    def reset(self, stream: str) -> None:
        if not self.frame.done():
            self.frame.set_exception(RuntimeError("the hub reported a gap it could not fill (stream.reset)"))


async def channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("CHANNEL_LAYERS has no default layer")
    channel = await layer.new_channel("realtime.selftest.")
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "selftest.ping", "nonce": nonce})
    message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError(f"received another message than the one sent: {message!r:.200}")


async def publish_round_trip() -> None:
    hub = await get_hub()
    probe_id = str(uuid.uuid4())
    stream = health_probe.name(probe_id=probe_id)
    probe = Probe()
    await hub.subscribe(stream, probe)
    try:
        event = HealthProbe(action="ping", object_id=probe_id, data={"host": socket.gethostname(), "pid": os.getpid()})
        # From a thread, like a view or a Celery task publishes.
        await asyncio.to_thread(publish, stream, event)
        frame = await probe.frame
        if probe_id not in frame:
            raise RuntimeError(f"received another event than the one published: {frame:.200}")
    finally:
        await hub.unsubscribe(stream, probe)
        # Before the loop closes: the hub's receive task waits in a Redis read.
        await close_hub()


async def run_checks(seconds_each: float) -> list[tuple[str, float]]:
    """Each check's name and milliseconds; raises CheckFailed naming the failing one."""
    timings = []
    for name, check in (("channel layer", channel_layer_round_trip), ("publish path", publish_round_trip)):
        start = time.perf_counter()
        try:
            async with asyncio.timeout(seconds_each):
                await check()
        except Exception as exc:
            raise CheckFailed(name, exc) from exc
        timings.append((name, (time.perf_counter() - start) * 1000))
    return timings


class CheckFailed(Exception):
    def __init__(self, check: str, error: BaseException) -> None:
        reason = "timed out" if isinstance(error, TimeoutError) else (str(error) or type(error).__name__)
        super().__init__(f"{check} round trip failed: {reason}")


def describe_layer() -> str:
    if realtime_settings.channel_layer == "memory":
        return "in-process channel layer (embedded mode: reaches this process only)"
    where = ", ".join(target.describe() for target in realtime_targets())  # never the password
    return f"{realtime_settings.channel_layer} channel layer on {where}"


def default_server() -> str:
    """Where `make run` serves: $HOST:$PORT, with a wildcard host reached on the loopback."""
    host = os.environ.get("HOST") or "127.0.0.1"
    if host in {"0.0.0.0", "::", "[::]"}:  # noqa: S104 - a listening address, not one we bind
        host = "127.0.0.1"
    return f"http://{host}:{os.environ.get('PORT') or 8000}"


def server_readiness(server: str, timeout: float) -> str:
    """What the server's `/readyz` checked; raises CommandError saying why it is not ready."""
    url = f"{server.rstrip('/')}/readyz"
    embedded = "embedded mode (no REDIS_URL): the channel layer is inside the server's process"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the operator's server URL
            checks = json.load(response).get("checks", {})
    except urllib.error.HTTPError as exc:  # 503: the body says which check failed
        try:
            checks = json.load(exc)["checks"]
            failed = ", ".join(f"{name}: {c.get('error', 'failed')}" for name, c in checks.items() if not c["ok"])
        except (ValueError, KeyError, TypeError, AttributeError):
            failed = "no readiness report"
        raise CommandError(f"{embedded}, and {url} answered {exc.code} ({failed})") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise CommandError(
            f"{embedded}, and no server answers at {url} ({reason}): start it with `make run`, or pass --server URL"
        ) from exc
    return ", ".join(f"{name} ok" for name in checks) or "ready"


class Command(BaseCommand):
    help = "Round trip over the configured channel layer and the real-time publish path; prints OK or why not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds each check may take (default 5)")
        parser.add_argument(
            "--server",
            default=default_server(),
            help="embedded mode: the running server whose /readyz is checked (default http://$HOST:$PORT)",
        )

    def handle(self, *args: Any, timeout: float, server: str, verbosity: int, **options: Any) -> None:
        layer = describe_layer()
        try:
            timings = asyncio.run(run_checks(timeout))
        except CheckFailed as exc:
            raise CommandError(f"{exc} ({layer})") from exc
        if verbosity >= 2:
            self.stdout.write(layer)
            for name, ms in timings:
                self.stdout.write(f"{name}: round trip in {ms:.1f} ms")
        if realtime_settings.channel_layer == "memory":
            checked = server_readiness(server, timeout)
            self.stdout.write(
                "embedded mode (no REDIS_URL): this process's in-process channel layer and publish path work, "
                f"and the server at {server} is ready ({checked})"
            )
        self.stdout.write("OK")
