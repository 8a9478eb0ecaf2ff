"""Bare ASGI broadcast app: the ceiling every server in the benchmark is compared against.

No framework and no channel layer. One process keeps its sockets in memory, grouped by the
last path segment; a publish encodes the message once and puts it on each socket's bounded
queue, and one writer task per socket sends it.

- `GET /healthz`: 200 `ok`.
- WebSocket `/ws/<group>`: every body published to `<group>`, as a text frame.
- `GET /sse/<group>`: the same as Server-Sent Events (`data: <body>`).
- `POST /publish/<group>`: queues the request body (JSON) to every socket of the group;
  202 `{"queued": <sockets>}`.

With `BARE_REDIS_URL` set (the `bare-prod` target, several processes on one port), a publish
goes through Redis instead: the POST does one `PUBLISH bare.<group> <body>` (202
`{"receivers": <processes>}`), and every process, subscribed to `bare.*`, queues what arrives
to its own sockets of the group. Cross-process delivery then costs what it costs the product.

Run: `uvicorn bare_app:app --app-dir bench/baselines --host 127.0.0.1 --port 8001`
(`BARE_REDIS_URL=redis://127.0.0.1:6380/0 uvicorn ... --workers 2` for the Redis shape).
"""

import asyncio
import contextlib
import json
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# A socket more than this many messages behind loses the newest ones (counted in `dropped`).
QUEUE_BOUND = 10_000
REDIS_URL = os.environ.get("BARE_REDIS_URL", "")
CHANNEL_PREFIX = "bare."


@dataclass(frozen=True, slots=True)
class Frame:
    """One published message, encoded once for each transport."""

    text: str
    sse: bytes


_groups: dict[str, set[asyncio.Queue[Frame]]] = defaultdict(set)
_stats = {"dropped": 0}
_redis: dict[str, Any] = {}


async def app(scope: Message, receive: Receive, send: Send) -> None:
    """Route the three endpoints; anything else is a 404 (or a refused socket)."""
    kind, path = scope["type"], scope.get("path", "")
    if kind == "lifespan":
        await _lifespan(receive, send)
    elif kind == "websocket":
        if path.startswith("/ws/"):
            await _websocket(_group_of(path), receive, send)
        else:
            await send({"type": "websocket.close", "code": 4404})
    elif kind == "http":
        if path.startswith("/sse/"):
            await _sse(_group_of(path), receive, send)
        elif path.startswith("/publish/") and scope["method"] == "POST":
            await _publish(_group_of(path), receive, send)
        elif path == "/healthz":
            await _respond(send, 200, b"ok", b"text/plain")
        else:
            await _respond(send, 404, b"not found", b"text/plain")


def _group_of(path: str) -> str:
    """The group is the last non-empty path segment (`/ws/3` and `/ws/3/` are group `3`)."""
    return path.rstrip("/").rsplit("/", 1)[-1]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if REDIS_URL:
                await _start_redis()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if "listener" in _redis:
                _redis["listener"].cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await _redis["listener"]
                await _redis["client"].aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _start_redis() -> None:
    """Connect, subscribe to every group's channel, and fan out what arrives to local sockets."""
    client = aioredis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                group = message["channel"].decode()[len(CHANNEL_PREFIX) :]
                _fan_out(group, message["data"])

    _redis.update(client=client, listener=asyncio.create_task(listen()))


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _publish(group: str, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    if REDIS_URL:
        receivers = await _redis["client"].publish(f"{CHANNEL_PREFIX}{group}", body)
        reply = json.dumps({"receivers": receivers}).encode()
    else:
        queued = _fan_out(group, body)
        reply = json.dumps({"queued": queued, "dropped": _stats["dropped"]}).encode()
    await _respond(send, 202, reply, b"application/json")


def _fan_out(group: str, body: bytes) -> int:
    """Encode `body` once and queue it to every local socket of `group`; return how many."""
    frame = Frame(text=body.decode(), sse=b"data: " + body + b"\n\n")
    queues = _groups.get(group, ())
    for queue in queues:
        try:
            queue.put_nowait(frame)
        except asyncio.QueueFull:
            _stats["dropped"] += 1
    return len(queues)


async def _serve_socket(
    group: str,
    write: Callable[[Frame], Awaitable[None]],
    wait_closed: Callable[[], Awaitable[None]],
) -> None:
    """Register a queue for the socket, pump it with `write` until `wait_closed` returns."""
    queue: asyncio.Queue[Frame] = asyncio.Queue(QUEUE_BOUND)
    _groups[group].add(queue)

    async def pump() -> None:
        while True:
            await write(await queue.get())

    writer = asyncio.create_task(pump())
    try:
        await wait_closed()
    finally:
        _groups[group].discard(queue)
        if not _groups[group]:
            del _groups[group]
        writer.cancel()


async def _websocket(group: str, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})

    async def write(frame: Frame) -> None:
        await send({"type": "websocket.send", "text": frame.text})

    async def wait_closed() -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass

    await _serve_socket(group, write, wait_closed)


async def _sse(group: str, receive: Receive, send: Send) -> None:
    headers = [
        (b"content-type", b"text/event-stream"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})

    async def write(frame: Frame) -> None:
        await send({"type": "http.response.body", "body": frame.sse, "more_body": True})

    async def wait_closed() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    await _serve_socket(group, write, wait_closed)
