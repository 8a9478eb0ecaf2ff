"""
Everything that knows the server is Daphne, so that the rest of the real-time layer speaks
plain ASGI and runs under any server (uvicorn too):

- the socket writer (`socket_writer`): Daphne's ASGI `send` is `partial(server.handle_reply,
  protocol)`, whose work is synchronous, so frames go to the Twisted protocol directly from
  the event loop (Daphne runs Twisted on asyncio): no task per socket, no coroutine chain
  per frame, the bytes of a frame made once for all sockets and written raw to a plain TCP
  socket while Twisted has nothing buffered for it. The writer is the transport's push
  producer, so Twisted says when the client stops reading; frames then wait in a bounded
  queue, and past the bound the owner is told (it closes 4408). It also closes with a reason
  (Daphne's `websocket.close` drops the reason) and counts inbound frames as they arrive
  (`count_inbound`);
- the chunk writer (`chunk_writer`): the same for a Server-Sent Events response once its
  headers are out, each event one HTTP/1.1 chunk with the HTTP request as the producer;
- the production launcher's server (`Launcher`, used by config/serve.py): the 64 KiB frame
  limit closing 1009, the access log through Python logging, and a graceful stop that
  closes every socket 1012 before Daphne cancels the applications.

Everything here takes the ASGI `send` it was given and returns None (or False) when that
send is not Daphne's: the caller then uses its plain ASGI path (writer.py).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.server import Server  # installs Twisted's asyncio reactor: import it before the reactor
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer
from twisted.internet import reactor as twisted_reactor

from config.logging import log_access

from . import metrics
from .connection import CloseCode, close_reason
from .limits import TokenBucket

# Twisted types its reactor with zope interfaces, whose methods mypy reads without `self`.
reactor: Any = twisted_reactor

# -- sockets ---------------------------------------------------------------------------------
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


def _closable_with_reason(code: int) -> bool:
    # autobahn's sendClose takes 1000 and 3000-4999 only; other codes go through Daphne.
    return code == 1000 or 3000 <= code <= 4999


class DaphneSocketWriter:
    """The outbound side of one Daphne socket (see the module docstring)."""

    def __init__(self, protocol: Any, send: Any, limit: int, on_overflow: Callable[[], None]) -> None:
        self.send, self.limit, self.on_overflow = send, limit, on_overflow
        # A list, not a deque: an empty deque takes 700 bytes, and most sockets never queue.
        self.pending: list[str] = []
        self.paused = False
        self.closed = False
        self._protocol: Any = protocol
        self._previous_producer: Any = None
        self._raw = _plain_tcp(protocol)

    def start(self) -> None:
        """Call after the socket is accepted."""
        # Twisted keeps one producer per transport, and the HTTP channel that upgraded this
        # socket is registered already: tell both when the client stops reading.
        transport = self._protocol.transport
        self._previous_producer = transport.producer
        if self._previous_producer is None:
            transport.registerProducer(self, True)
        else:
            transport.producer = _Both(self._previous_producer, self)

    def count_inbound(self, bucket: TokenBucket) -> bool:
        """Count frames against `bucket` as they arrive, before Daphne queues them for the
        application (its queue has no bound: a flood would grow the server while the
        consumer catches up). Past the limit the socket is closed 4429 and further frames
        are dropped. Returns True: the consumer need not count them again."""
        protocol = self._protocol
        deliver = protocol.onMessage

        def on_message(payload: bytes, is_binary: bool) -> None:
            if bucket.take():
                deliver(payload, is_binary)
            elif protocol.state == protocol.STATE_OPEN:
                metrics.closes.inc(str(CloseCode.TOO_MANY))
                protocol.sendClose(code=int(CloseCode.TOO_MANY), reason="too many messages")

        protocol.onMessage = on_message
        return True

    def write(self, frame: str) -> None:
        if self.closed:
            return
        protocol = self._protocol
        if protocol is not None and not self.paused and not self.pending:
            if protocol.state == protocol.STATE_OPEN:
                self._send_now(frame)
            return
        if len(self.pending) >= self.limit:
            self.pending.clear()
            self.on_overflow()
            return
        self.pending.append(frame)

    def _send_now(self, frame: str) -> None:
        """The pre-built frame, raw when the socket allows it (`write_raw`)."""
        payload, whole = _encode(frame)
        transport = self._raw
        if transport is None:
            self._protocol.sendMessage(payload, False)
            return
        write_raw(transport, whole)

    # Twisted's push-producer interface.
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

    async def close(self, code: int, reason: str = "", drop_pending: bool = False) -> None:
        """Send what is queued (unless dropping it), then the close frame with its reason."""
        if drop_pending:
            self.pending.clear()
        protocol = self._protocol
        if protocol is not None and not self.paused:
            self.resumeProducing()
        self.stop()
        if protocol is not None and _closable_with_reason(code) and protocol.state != protocol.STATE_CONNECTING:
            # autobahn takes a plain int only
            protocol.sendClose(code=int(code), reason=close_reason(code, reason))
        else:
            await self.send({"type": "websocket.close", "code": int(code)})

    def stop(self) -> None:
        self.closed = True
        if self._protocol is not None:
            transport = self._protocol.transport
            if transport is not None and isinstance(transport.producer, _Both | DaphneSocketWriter):
                transport.producer = self._previous_producer
            self._protocol = None


class _Both:
    """Forwards Twisted's producer calls to the transport's first producer and to us."""

    def __init__(self, first: Any, second: DaphneSocketWriter) -> None:
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


def socket_writer(send: Any, limit: int, on_overflow: Callable[[], None]) -> DaphneSocketWriter | None:
    """The Daphne writer of a socket, or None when `send` is not Daphne's."""
    protocol = daphne_protocol(send)
    return None if protocol is None else DaphneSocketWriter(protocol, send, limit, on_overflow)


# -- Server-Sent Events ---------------------------------------------------------------------
def _daphne_request(send: Any) -> Any | None:
    """The Daphne HTTP request (a Twisted `Request`) behind an ASGI send, when its body goes
    out in HTTP/1.1 chunks."""
    request = send.args[0] if isinstance(send, functools.partial) and send.args else None
    if request is None or not hasattr(request, "registerProducer") or getattr(request, "channel", None) is None:
        return None
    return request if request.chunked and request.startedWriting else None


_chunked: tuple[str, bytes] = ("", b"")


def http_chunk(text: str) -> bytes:
    """`text` as one HTTP/1.1 chunk."""
    data = text.encode()
    return b"%x\r\n%b\r\n" % (len(data), data)


def _event_chunk(event_id: str, frame: str) -> bytes:
    """An event as one SSE block in one HTTP chunk; made once for all responses that get
    the same frame (the hub hands them the same string)."""
    global _chunked
    if _chunked[0] is not frame:
        _chunked = (frame, http_chunk(f"id: {event_id}\ndata: {frame}\n\n"))
    return _chunked[1]


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

    def write_event(self, event_id: str, frame: str) -> None:
        """An event as `id:` + `data:` lines."""
        self._write(_event_chunk(event_id, frame))

    def write_text(self, text: str) -> None:
        """SSE lines as they are (`data:` lines, comments); `text` must not be empty (an
        empty HTTP chunk ends the response)."""
        self._write(http_chunk(text))

    def _write(self, chunk: bytes) -> None:
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


def chunk_writer(send: Any, limit: int, on_overflow: Callable[[], None]) -> ChunkWriter | None:
    """The Daphne writer of a started SSE response, or None when `send` is not Daphne's."""
    request = _daphne_request(send)
    return None if request is None else ChunkWriter(request, limit, on_overflow)


# -- the production launcher -----------------------------------------------------------------
# Seconds a stopping process waits for clients to answer its close frames.
CLOSE_GRACE = 2.0


class Collector:
    """
    Keeps Python's cyclic garbage collector off the long-lived connections.

    A full collection walks every tracked object, about 118 per open socket: 420 ms with 5000
    sockets, a pause of the event loop for every event in flight (docs/performance.md). So
    when the connections have grown by a tenth (and at least `GROWTH`) since the last look,
    checked every `CHECK_EVERY` seconds, the garbage among what is not frozen yet is
    collected and the rest moves to the permanent generation (`gc.freeze()`): the open
    connections, mostly. Each collection, Python's own and this one, then walks only what
    came since the last freeze. A steady number of connections, however many come and go, is
    not frozen again: those that come and go are collected as usual.

    What is frozen is never collected, so the garbage of a connection that was frozen and then
    closed (Twisted's and autobahn's objects refer to each other) would stay. When a quarter of
    the connections there were at the last reclaim (and at least `RECLAIM_AFTER`) closed after
    being frozen, or `RECLAIM_EVERY` seconds passed, everything is thawed, collected in one full
    collection and frozen again: that pause comes with churn of the long-lived connections,
    about as often as Python's own would, and never without it.
    """

    CHECK_EVERY = 5.0
    GROWTH = 100
    RECLAIM_AFTER = 200
    RECLAIM_EVERY = 600.0

    def __init__(self) -> None:
        self.frozen_at = 0.0  # time.time() of the last freeze
        self.frozen_open = 0  # connections open at the last freeze
        self.closed_frozen = 0  # connections frozen while open and closed since the last reclaim
        self.open_at_reclaim = 0
        self.reclaimed_at = time.monotonic()

    def connection_closed(self, connected_at: float) -> None:
        if connected_at < self.frozen_at:
            self.closed_frozen += 1

    def tick(self, open_connections: int) -> bool:
        """Reclaim, or freeze when the connections grew; True when it reclaimed."""
        due = self.closed_frozen >= max(self.RECLAIM_AFTER, self.open_at_reclaim // 4)
        if due or time.monotonic() - self.reclaimed_at >= self.RECLAIM_EVERY:
            gc.unfreeze()
            gc.collect()
            self._freeze(open_connections)
            self.closed_frozen, self.open_at_reclaim, self.reclaimed_at = 0, open_connections, time.monotonic()
            return True
        if open_connections >= self.frozen_open + max(self.GROWTH, self.frozen_open // 10):
            gc.collect()  # the garbage among what is not frozen yet: what came since the last freeze
            self._freeze(open_connections)
        return False

    def _freeze(self, open_connections: int) -> None:
        gc.freeze()
        self.frozen_at, self.frozen_open = time.time(), open_connections


class Inbox:
    """A connection's queue of ASGI messages for its application: what Daphne's
    `asyncio.Queue` does there (`put_nowait` from the protocol, `get` from the application),
    without a queue's four deques and its event: 4.7 KiB less on every open socket
    (docs/performance.md, "The third pass")."""

    __slots__ = ("getters", "items")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.getters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        while self.getters:
            getter = self.getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return

    async def get(self) -> Any:
        while not self.items:
            getter = asyncio.get_running_loop().create_future()
            self.getters.append(getter)
            try:
                await getter
            except BaseException:
                if getter in self.getters:
                    self.getters.remove(getter)
                if self.items:  # woken, then cancelled: the next getter takes the item
                    self._wake_one()
                raise
        return self.items.pop(0)


class GracefulServer(Server):
    """Daphne's server with the access log through logging, a graceful stop, and a lighter
    queue per connection (`Inbox`)."""

    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        # Daphne builds an action logger when its access log is on (verbosity >= 1 or
        # --access-log); ours replaces it, wherever Daphne meant to write.
        super().__init__(*args, action_logger=log_access if action_logger else None, **kwargs)
        self.ports: list[Any] = []
        # The application is loaded: move what exists now (Django, the apps, the libraries)
        # out of the cyclic garbage collector's sight, so that a full collection walks only
        # what was made since (sockets, requests). With 1000 sockets open, full collections
        # otherwise stalled the event loop for 80-170 ms (gc.callbacks timings,
        # docs/performance.md).
        gc.collect()
        gc.freeze()
        self.collector = Collector()
        # Registered before Daphne's own shutdown trigger (which cancels the applications),
        # so the close frames go out first.
        reactor.addSystemEventTrigger("before", "shutdown", self.close_websockets)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Inbox | None:
        """Daphne's, with an `Inbox` for the application's messages."""
        assert "application_instance" not in self.connections[protocol]
        inbox = Inbox()
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(scope=scope, receive=inbox.get, send=functools.partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(instance)
        return inbox

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        if not self.ports[1:]:
            self._collect_later()
            from .hub import start_with_server  # the application (and Django) is loaded by now

            reactor.callLater(0, start_with_server)  # once the event loop runs
        super().listen_success(port)

    def _collect_later(self) -> None:
        self.collector.tick(len(self.connections))
        reactor.callLater(Collector.CHECK_EVERY, self._collect_later)

    def protocol_disconnected(self, protocol: Any) -> None:
        details = self.connections.get(protocol, {})
        if "disconnected" not in details:
            self.collector.connection_closed(details.get("connected", time.time()))
        super().protocol_disconnected(protocol)

    def open_websockets(self) -> list[WebSocketProtocol]:
        return [
            protocol
            for protocol, details in self.connections.items()
            if isinstance(protocol, WebSocketProtocol) and "disconnected" not in details
        ]

    def close_websockets(self) -> defer.Deferred[None]:
        for port in self.ports:
            port.stopListening()
        code = CloseCode.SERVICE_RESTART
        for protocol in self.open_websockets():
            if protocol.state == protocol.STATE_OPEN:
                # sendClose() only takes 1000 and 3000-4999; 1012 is the registered
                # "service restart" code, which clients treat as "reconnect now".
                protocol.sendCloseFrame(code=int(code), reasonUtf8=code.reason.encode())
        drained: defer.Deferred[None] = defer.Deferred()
        deadline = time.monotonic() + CLOSE_GRACE

        def check() -> None:
            if not self.open_websockets() or time.monotonic() >= deadline:
                drained.callback(None)
            else:
                reactor.callLater(0.05, check)

        check()
        return drained


# Seconds the server waits for a client to answer its close frame before it resets the
# connection. autobahn's default is 1 s: a client busy for longer (a loaded machine, a phone
# waking up, a slow link) had its connection reset, and a reset can cost it the close frame
# (it then sees 1006 instead of the code). Daphne does not set this option.
CLOSE_HANDSHAKE_TIMEOUT = 5.0


class _WebSocketProtocol(WebSocketProtocol):
    """Daphne's protocol, lighter while a socket is open: once the handshake is done, its raw
    request and response, autobahn's parsed headers, request line and query parameters go
    (Daphne built the scope from them; nothing reads them again), and with them three copies
    of a `?token=` credential. And see `_WebSocketFactory`."""

    def onOpen(self) -> None:  # noqa: N802 - autobahn's name
        super().onOpen()
        self.http_request_data = self.http_response_data = b""
        self.http_status_line = self.http_request_uri = ""
        self.http_headers = self.request.headers = {}
        self.http_request_params = self.request.params = {}


class _WebSocketFactory(WebSocketFactory):
    """Daphne's factory, but a connection failed by the protocol (an oversized frame) gets
    its close frame (1009) before the TCP connection drops, so the client reads the code;
    and a client has CLOSE_HANDSHAKE_TIMEOUT seconds to answer a close frame.

    Its options live on a protocol class of its own: autobahn copies every option it finds
    missing on a new connection from the factory onto the connection (29 attributes on each
    socket), and it finds none missing there."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.protocol: type[_WebSocketProtocol] = type("WebSocketProtocol", (_WebSocketProtocol,), {})
        super().__init__(*args, **kwargs)

    def resetProtocolOptions(self) -> None:  # noqa: N802 - autobahn's name
        super().resetProtocolOptions()
        self.failByDrop = False
        self.closeHandshakeTimeout = CLOSE_HANDSHAKE_TIMEOUT
        self._share_options()

    def setProtocolOptions(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802 - autobahn's name
        super().setProtocolOptions(*args, **kwargs)
        self._share_options()

    def _share_options(self) -> None:
        for name in self.protocol.CONFIG_ATTRS:
            if hasattr(self, name):
                value = getattr(self, name)
                # An option that is a function (perMessageCompressionAccept) must not become a method.
                setattr(self.protocol, name, staticmethod(value) if isinstance(value, types.FunctionType) else value)


# The frame limit, enforced where frames arrive: autobahn closes with 1009 itself (Daphne
# does not let an application send 1009), before a large frame is buffered.
FRAME_LIMIT = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]


class Launcher(CommandLineInterface):
    """Daphne's command line with the server above and the frame limit."""

    server_class = GracefulServer

    def run(self, args: Sequence[str]) -> None:
        daphne.server.WebSocketFactory = _WebSocketFactory  # read by Server.run
        if not any(arg.startswith("--websocket-max-") for arg in args):
            args = [*FRAME_LIMIT, *args]
        super().run(args)
