"""
Bad input from clients: oversized frames close 1009; malformed frames get an error frame
or close 4400; malformed paths close 4400 and unknown ones 4404. Never 1011, never a
traceback in the server's log, and the `type` a client sends cannot pick a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import websockets

from tests import support
from tests.reliability import clients, faults
from tests.reliability.clients import Demo, Socket

KIB = 1024


def padded_ping(size: int, char: str = "x") -> str:
    """A ping frame of exactly `size` bytes of UTF-8 (`char` is 1 or 2 bytes)."""
    frame = '{"type":"ping","pad":""}'
    fill = (size - len(frame)) // len(char.encode())
    text = frame[:-2] + char * fill + '"}'
    assert len(text.encode()) == size, (len(text.encode()), size)
    return text


# (what, frame, outcomes allowed): "error" is an error frame with the socket still open,
# "accepted" a frame handled like any other (a ping answered), a number the close code.
FRAMES: list[tuple[str, str | bytes, set[str]]] = [
    ("text frame of 100 KiB", padded_ping(100 * KIB), {"1009"}),
    ("text frame of 64 KiB + 1 byte", padded_ping(64 * KIB + 1), {"1009"}),
    ("text frame of 40 Ki two-byte characters (80 KiB)", padded_ping(80 * KIB, "é"), {"1009"}),
    ("text frame of 4 MiB", padded_ping(4096 * KIB), {"1009"}),
    ("binary frame of 100 KiB", b"\x00" * 100 * KIB, {"1009", "4400"}),
    ("text frame of exactly 64 KiB", padded_ping(64 * KIB), {"accepted"}),
    ("binary frame", b"\x00\x01\x02", {"error", "4400"}),
    ("not JSON", "hello", {"error", "4400"}),
    ("truncated JSON", '{"type": "ping"', {"error", "4400"}),
    ("JSON array", '[{"type": "ping"}]', {"error", "4400"}),
    ("JSON string", '"ping"', {"error", "4400"}),
    ("JSON number", "42", {"error", "4400"}),
    ("JSON null", "null", {"error", "4400"}),
    ("object without type", '{"stream": "requests.unit.1"}', {"error", "4400"}),
    ("type a number", '{"type": 42}', {"error", "4400"}),
    ("type null", '{"type": null}', {"error", "4400"}),
    ("type a list", '{"type": ["ping"]}', {"error", "4400"}),
    ("type empty", '{"type": ""}', {"error", "4400"}),
    ("unknown type", '{"type": "unknown.thing"}', {"error", "4400"}),
    ("nested 30000 deep", "[" * 30000 + "]" * 30000, {"error", "4400"}),
    # Deeper than Python's JSON parser recurses, yet under the 64 KiB frame limit.
    ("object nested 10000 deep", '{"a":' * 10000 + "1" + "}" * 10000, {"error", "4400"}),
    ("number of 5000 digits", '{"type": "ping", "n": ' + "9" * 5000 + "}", {"error", "4400", "accepted"}),
    ("lone surrogate in type", '{"type": "\\ud800"}', {"error", "4400"}),
    ("NUL in type", '{"type": "ping\\u0000"}', {"error", "4400"}),
    ("subscribe on a stream route", '{"type": "subscribe", "stream": "requests.unit.1"}', {"error", "4400"}),
    ("auth.refresh without token", '{"type": "auth.refresh"}', {"error", "4400"}),
    ("auth.refresh with a number", '{"type": "auth.refresh", "token": 5}', {"error", "4400"}),
    ("auth.refresh with garbage", '{"type": "auth.refresh", "token": "garbage"}', {"error", "4400"}),
    ("unsubscribe of a list", '{"type": "unsubscribe", "stream": [1]}', {"error", "4400"}),
]

# Subscriptions on the multiplexed /ws/ with malformed fields: an error frame each.
SUBSCRIBE: list[tuple[str, dict[str, Any], set[str]]] = [
    ("stream missing", {}, {"error"}),
    ("stream a list", {"stream": ["requests.unit.1"]}, {"error"}),
    ("stream a number", {"stream": 1}, {"error"}),
    ("stream an object", {"stream": {"name": "requests.unit.1"}}, {"error"}),
    ("stream of 5000 characters", {"stream": "a" * 5000}, {"error"}),
    ("stream with a wildcard", {"stream": "requests.unit.*"}, {"error"}),
    ("stream with a space", {"stream": "requests.unit.1 2"}, {"error"}),
    ("unit id of 30 digits", {"stream": "requests.unit." + "9" * 30}, {"error"}),
    ("progress of a non-UUID", {"stream": "progress.job.not-a-uuid"}, {"error"}),
    ("last_event_id not an id", {"stream": "{north}", "last_event_id": "yesterday"}, {"error"}),
    ("last_event_id a list", {"stream": "{north}", "last_event_id": ["1-0"]}, {"error"}),
    ("last_event_id a number", {"stream": "{north}", "last_event_id": 5}, {"error"}),
    # Well formed but past anything Redis can hold: the history cannot reach back.
    ("last_event_id beyond 64 bits", {"stream": "{north}", "last_event_id": "99999999999999999999-0"}, {"reset"}),
]

# Names a client might try as `type` to run something other than a message handler.
HANDLER_NAMES = [
    "on_connect", "on_disconnect", "on_receive", "on_ping", "close", "dispatch", "handlers", "revalidate",
    "__init__", "__call__", "__class__", "_send", "_deliver", "_too_slow", "push", "reset", "subscribe_all",
    "websocket.connect", "websocket.disconnect", "websocket.receive", "websocket.close", "websocket_disconnect",
    "realtime.event", "stream.reset", "PING", "Ping", " ping", "ping ", "ping\n", "auth_refresh", "auth.refreshed",
]  # fmt: skip

# (path, expected close code); every one carries a valid token of alice.
PATHS: list[tuple[str, int]] = [
    ("/ws/requests/abc/", 4400),
    ("/ws/requests/-1/", 4400),
    ("/ws/requests/1.5/", 4400),
    ("/ws/requests/99999999999999999999/", 4400),
    ("/ws/requests/%00/", 4400),
    ("/ws/requests/%2e%2e/", 4400),
    ("/ws/requests/{north}/?last_event_id=yesterday", 4400),
    ("/ws/requests/{north}/?last_event_id=1-2-3", 4400),
    ("/ws/progress/not-a-uuid/", 4400),
    ("/ws/mentor/x/", 4400),
    ("/ws/nope/", 4404),
    ("/ws/requests/", 4404),
    ("/ws/requests/{north}", 4404),
    ("/ws/requests/{north}/extra/", 4404),
    ("/ws/" + "a" * 4000 + "/", 4404),
    ("/ws/health/../requests/{north}/", 4404),
]


async def outcome(socket: Socket, timeout: float = 10) -> str:
    """After a frame: the close code, or what came back before the pong of a ping sent after it."""
    before = len(socket.frames)
    with contextlib.suppress(websockets.ConnectionClosed):
        await socket.send({"type": "ping"})
    try:
        await socket.wait(lambda s: s.close_code is not None or s.count("pong") > 0, "a pong or a close", timeout)
    except AssertionError:
        return f"no answer in {timeout:.0f} s"
    if socket.close_code is not None:
        return str(socket.close_code)
    kinds = [f.get("type") for f in socket.frames[before:]]
    for kind in ("error", "stream.reset"):
        if kind in kinds:
            return kind.removeprefix("stream.")
    return "accepted" if set(kinds) == {"pong"} else f"{kinds}"


async def try_frame(url: str, frame: str | bytes) -> str:
    socket = await Socket.open(url)
    try:
        await socket.ping()
        socket.frames.clear()
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.send(frame)
        return await outcome(socket)
    finally:
        await socket.close()


def unexpected(table: list[tuple[str, str, set[str]]]) -> list[str]:
    return [
        f"{what}: {got} (expected {' or '.join(sorted(allowed))})" for what, got, allowed in table if got not in allowed
    ]


class Tracebacks:
    """Watches the server's log from now on: `check()` fails on any traceback logged since."""

    def __init__(self, server: support.Server) -> None:
        self.server, self.start = server, len(faults.server_log(server))

    def check(self) -> None:
        log = faults.server_log(self.server)[self.start :]
        if "Traceback" in log:
            at = log.index("Traceback")
            raise AssertionError(f"the server logged a traceback:\n{log[max(0, at - 300) : at + 2500]}")


async def test_oversized_and_malformed_frames_get_an_error_frame_or_a_close_code_never_1011(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    tracebacks = Tracebacks(module_server)
    url = f"{module_server.ws}/ws/requests/{demo.units['North']}/?token={demo.token('alice')}"
    gate = asyncio.Semaphore(6)

    async def one(frame: str | bytes) -> str:
        async with gate:
            return await try_frame(url, frame)

    got = await asyncio.gather(*(one(frame) for _, frame, _ in FRAMES))
    table = [(what, result, allowed) for (what, _, allowed), result in zip(FRAMES, got, strict=True)]
    for what, result, _ in table:
        print(f"{what:50} -> {result}")
    wrong = unexpected(table)
    counts = {r: got.count(r) for r in sorted(set(got))}
    summary(f"bad frames: {len(FRAMES)} kinds tried, outcomes {counts}, unexpected {len(wrong)}")
    assert not wrong, "frames answered unexpectedly:\n" + "\n".join(wrong)
    tracebacks.check()


async def test_malformed_subscriptions_on_the_multiplexed_socket_get_error_frames(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    tracebacks = Tracebacks(module_server)
    north = f"requests.unit.{demo.units['North']}"
    socket = await Socket.open(f"{module_server.ws}/ws/?token={demo.token('alice')}")
    await socket.ping()
    table = []
    for what, fields, allowed in SUBSCRIBE:
        values = {k: v.format(north=north) if isinstance(v, str) else v for k, v in fields.items()}
        body = {"type": "subscribe", **values}
        socket.frames.clear()
        await socket.send(json.dumps(body))
        result = await outcome(socket)
        table.append((what, result, allowed))
        print(f"{what:50} -> {result}")
        if socket.close_code is not None:
            break
    # After all that, the socket still subscribes and receives like any other.
    socket.frames.clear()
    await socket.send({"type": "subscribe", "stream": north})
    await socket.wait(lambda s: s.count("subscribed") == 1, "subscribed")
    async with clients.api(module_server, demo.token("bob")) as bob:
        made = await clients.create_request(bob, demo.units["North"], "after malformed subscriptions")
    await socket.wait(lambda s: made in [e["request_id"] for e in s.events()], "the event")
    await socket.close()
    wrong = unexpected(table)
    summary(
        f"bad subscriptions: {len(SUBSCRIBE)} tried on /ws/, unexpected {len(wrong)}; then subscribed, got its event"
    )
    assert not wrong, "subscriptions answered unexpectedly:\n" + "\n".join(wrong)
    tracebacks.check()


async def test_a_client_cannot_pick_a_handler_by_the_type_it_sends(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    tracebacks = Tracebacks(module_server)
    north = demo.units["North"]
    socket = await Socket.open(f"{module_server.ws}/ws/requests/{north}/?token={demo.token('alice')}")
    await socket.ping()
    socket.frames.clear()
    for name in HANDLER_NAMES:
        await socket.send({"type": name, "code": 1000, "stream": f"requests.unit.{north}", "text": "x"})
    pong = await socket.ping()
    errors = socket.of_type("error")
    others = [f for f in socket.frames if f.get("type") not in ("error", "pong")]
    # Still open, still subscribed: an event reaches it.
    async with clients.api(module_server, demo.token("bob")) as bob:
        made = await clients.create_request(bob, north, "after the handler names")
    await socket.wait(lambda s: made in [e["request_id"] for e in s.events()], "the event")
    await socket.close()
    summary(
        f"handler names as type: {len(HANDLER_NAMES)} tried, error frames {len(errors)}, other replies {len(others)}, "
        "the socket still open and subscribed"
    )
    assert pong["type"] == "pong"
    assert len(errors) == len(HANDLER_NAMES), f"{len(errors)} error frames for {len(HANDLER_NAMES)}: {socket.frames}"
    assert not others, f"a handler name got a reply other than an error: {others}"
    tracebacks.check()


async def test_a_malformed_path_value_closes_4400_and_an_unknown_path_4404(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    tracebacks = Tracebacks(module_server)
    got = []
    for path, _ in PATHS:
        url = f"{module_server.ws}{path.format(north=demo.units['North'])}"
        url += ("&" if "?" in url else "?") + f"token={demo.token('alice')}"
        socket = await Socket.open(url)
        got.append(await socket.closed())
        print(f"{path[:60]:60} -> {got[-1]}")
    pairs = zip(PATHS, got, strict=True)
    wrong = [f"{path}: closed {result}, expected {code}" for (path, code), result in pairs if result != code]
    expected = [code for _, code in PATHS]
    summary(
        f"bad paths: {len(PATHS)} tried, closed 4400 {got.count(4400)}/{expected.count(4400)}, "
        f"4404 {got.count(4404)}/{expected.count(4404)}, other {len(wrong)}"
    )
    assert not wrong, "paths closed unexpectedly:\n" + "\n".join(wrong)
    tracebacks.check()
