"""
The outbound side of one socket: bounded, and as cheap as the server allows.

Under Daphne the ASGI `send` is `partial(server.handle_reply, protocol)`; its work is
synchronous, so the writer calls the Twisted protocol directly from the event loop (Daphne
runs Twisted on asyncio): no task per socket, no coroutine chain per frame, and the UTF-8
bytes of a frame are made once for all sockets. It registers as the transport's push
producer, so Twisted says when the client stops reading (its write buffer is full); frames
then wait in a bounded queue, and past the bound the socket is closed 4408.

Under any other server (uvicorn) a writer task awaits the ASGI `send`, whose flow control
blocks while the client does not read; the same bounded queue fills and trips 4408.

`ChunkWriter` does the same for a Server-Sent Events response under Daphne: each event as one
HTTP/1.1 chunk, made once for all responses, with the HTTP request as the push producer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]

# The hub hands the same frame string to every socket: encode it once, both as UTF-8 and
# as a whole WebSocket text frame (server frames are not masked).
_encoded: tuple[str, bytes, bytes] = ("", b"", b"")


def _encode(frame: str) -> tuple[bytes, bytes]:
    global _encoded
    if _encoded[0] is not frame:
        payload = frame.encode()
        size = len(payload)
        if size < 126:
            header = bytes((0x81, size))
        elif size < 65536:
            header = bytes((0x81, 126)) + size.to_bytes(2, "big")
        else:
            header = bytes((0x81, 127)) + size.to_bytes(8, "big")
        _encoded = (frame, payload, header + payload)
    return _encoded[1], _encoded[2]


def daphne_protocol(send: Any) -> Any | None:
    """The Daphne WebSocket protocol behind an ASGI send, through Channels' session wrapper."""
    for _ in range(4):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            return protocol if hasattr(protocol, "sendMessage") and hasattr(protocol, "registerProducer") else None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
    return None


def daphne_request(send: Any) -> Any | None:
    """The Daphne HTTP request (a Twisted `Request`) behind an ASGI send, when its body goes
    out in HTTP/1.1 chunks."""
    request = send.args[0] if isinstance(send, functools.partial) and send.args else None
    if request is None or not hasattr(request, "registerProducer") or getattr(request, "channel", None) is None:
        return None
    return request if request.chunked and request.startedWriting else None


def _raw_capable(transport: Any) -> Any | None:
    """`transport` if it is plain TCP (not TLS): bytes can go to its socket directly."""
    needed = ("socket", "dataBuffer", "offset", "_tempDataBuffer", "write")
    return transport if all(hasattr(transport, name) for name in needed) else None


def _plain_tcp(protocol: Any) -> Any | None:
    """The Twisted TCP transport under a Daphne socket, when frames can be written raw:
    plain TCP (not TLS), and no per-message compression negotiated."""
    if protocol is None or getattr(protocol, "_perMessageCompress", True) is not None:
        return None
    return _raw_capable(getattr(protocol, "transport", None))


def write_raw(transport: Any, whole: bytes) -> None:
    """`whole` to the socket at once while Twisted has nothing buffered for it (a write
    through Twisted costs an add/remove-writer round per socket), the rest through Twisted,
    which keeps the order."""
    sent = 0
    if not transport._tempDataBuffer and len(transport.dataBuffer) == transport.offset:
        try:
            sent = transport.socket.send(whole)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the connection is going; Twisted reports the loss
    if sent < len(whole):
        transport.write(whole[sent:] if sent else whole)


class SocketWriter:
    def __init__(self, send: Send, limit: int, on_overflow: Callable[[], None]) -> None:
        self.send, self.limit, self.on_overflow = send, limit, on_overflow
        # A list, not a deque: an empty deque takes 700 bytes, and most sockets never queue.
        self.pending: list[str] = []
        self.paused = False
        self.closed = False
        self._protocol = daphne_protocol(send)
        self._previous_producer: Any = None
        self._raw = _plain_tcp(self._protocol)
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Call after the socket is accepted."""
        if self._protocol is not None:
            # Twisted keeps one producer per transport, and the HTTP channel that upgraded
            # this socket is registered already: tell both when the client stops reading.
            transport = self._protocol.transport
            self._previous_producer = transport.producer
            if self._previous_producer is None:
                transport.registerProducer(self, True)
            else:
                transport.producer = _Both(self._previous_producer, self)
        else:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def write(self, frame: str) -> None:
        if self.closed:
            return
        if self._protocol is not None and not self.paused and not self.pending:
            if self._protocol.state == self._protocol.STATE_OPEN:
                self._send_now(frame)
            return
        if len(self.pending) >= self.limit:
            self.pending.clear()
            self.on_overflow()
            return
        self.pending.append(frame)
        if self._wakeup is not None:
            self._wakeup.set()

    def _send_now(self, frame: str) -> None:
        """Daphne: the pre-built frame, raw when the socket allows it (`write_raw`)."""
        payload, whole = _encode(frame)
        transport = self._raw
        if transport is None:
            assert self._protocol is not None
            self._protocol.sendMessage(payload, False)
            return
        write_raw(transport, whole)

    # Twisted's push-producer interface (Daphne).
    def pauseProducing(self) -> None:  # noqa: N802
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        protocol = self._protocol
        if protocol is None:
            return
        while self.pending and not self.paused and protocol.state == protocol.STATE_OPEN:
            self._send_now(self.pending.pop(0))

    def stopProducing(self) -> None:  # noqa: N802
        self.closed = True
        self.pending.clear()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.pending:
                await self.send({"type": "websocket.send", "text": self.pending.pop(0)})

    async def close(self, code: int, drop_pending: bool = False) -> None:
        """Send what is queued (unless dropping it), then the close frame."""
        if drop_pending:
            self.pending.clear()
        if self._protocol is not None:
            if not self.paused:
                self.resumeProducing()
        else:
            while self.pending:
                await self.send({"type": "websocket.send", "text": self.pending.pop(0)})
        self.stop()
        await self.send({"type": "websocket.close", "code": code})

    def stop(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._protocol is not None:
            transport = self._protocol.transport
            if transport is not None and isinstance(transport.producer, _Both | SocketWriter):
                transport.producer = self._previous_producer
            self._protocol = None


class _Both:
    """Forwards Twisted's producer calls to the transport's first producer and to us."""

    def __init__(self, first: Any, second: SocketWriter) -> None:
        self.first, self.second = first, second

    def pauseProducing(self) -> None:  # noqa: N802
        self.first.pauseProducing()
        self.second.pauseProducing()

    def resumeProducing(self) -> None:  # noqa: N802
        self.first.resumeProducing()
        self.second.resumeProducing()

    def stopProducing(self) -> None:  # noqa: N802
        self.first.stopProducing()
        self.second.stopProducing()


class ChunkWriter:
    """The outbound side of one Server-Sent Events response under Daphne, once its headers
    are out: each chunk is written as a whole HTTP/1.1 chunk, raw when the socket allows it
    (`write_raw`), else through Twisted. It is the request's push producer: while Twisted
    says the client is not reading, chunks wait in a bounded queue, and past the bound
    `on_overflow` is called (the response then ends; the client resumes by id)."""

    def __init__(self, request: Any, limit: int, on_overflow: Callable[[], None]) -> None:
        self.request, self.limit, self.on_overflow = request, limit, on_overflow
        self.transport = request.channel.transport
        self._raw = _raw_capable(self.transport)
        self.pending: list[bytes] = []
        self.paused = False
        self.closed = False
        request.registerProducer(self, True)

    def write(self, chunk: bytes) -> None:
        """`chunk`: a whole HTTP chunk (`http_chunk`)."""
        if self.closed:
            return
        if not self.paused and not self.pending:
            self._send_now(chunk)
            return
        if len(self.pending) >= self.limit:
            self.pending.clear()
            self.on_overflow()
            return
        self.pending.append(chunk)

    def _send_now(self, chunk: bytes) -> None:
        if self.request._disconnected or self.request.finished:
            return
        if self._raw is not None:
            write_raw(self._raw, chunk)
        else:
            self.transport.write(chunk)

    # Twisted's push-producer interface, through the HTTP channel.
    def pauseProducing(self) -> None:  # noqa: N802
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        while self.pending and not self.paused and not self.closed:
            self._send_now(self.pending.pop(0))

    def stopProducing(self) -> None:  # noqa: N802
        self.closed = True
        self.pending.clear()

    def stop(self) -> None:
        """Hand what is queued to Twisted's buffer (so it precedes the end of the response)
        and unregister."""
        if not self.closed:
            self.closed = True
            while self.pending:
                self.transport.write(self.pending.pop(0))
        if self.request.producer is self and self.request.channel is not None:
            self.request.unregisterProducer()


_chunked: tuple[str, bytes] = ("", b"")


def http_chunk(text: str) -> bytes:
    """`text` as one HTTP/1.1 chunk."""
    data = text.encode()
    return b"%x\r\n%b\r\n" % (len(data), data)


def event_chunk(event_id: str, frame: str) -> bytes:
    """An event as one SSE block in one HTTP chunk; made once for all responses that get
    the same frame (the hub hands them the same string)."""
    global _chunked
    if _chunked[0] is not frame:
        _chunked = (frame, http_chunk(f"id: {event_id}\ndata: {frame}\n\n"))
    return _chunked[1]
