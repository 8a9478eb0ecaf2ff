"""Load client: many WebSocket or SSE connections, spread over worker processes.

Each worker process runs a uvloop event loop and opens its share of the connections with a
small hand-written HTTP/1.1 reader on `asyncio.Protocol` (RFC 6455 frames for WebSocket,
chunked `text/event-stream` for SSE), so it spends far less CPU per frame than the servers it
measures. For every frame it looks for the event key, the JSON string `"bench-<n>"`, and
records the monotonic receive time (CLOCK_MONOTONIC is system-wide on Linux, so it compares
with the `t0` the driver took in another process).

The driver side is `LoadClient`: `connect`, `progress`, `collect` (sends the map key -> t0
and gets back per-recipient latencies) and `close`, each a round trip over a pipe to every
worker.
"""

import asyncio
import base64
import contextlib
import multiprocessing
import os
import re
import resource
import signal
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import ClassVar, cast
from urllib.parse import urlsplit

import uvloop

KEY_RE = re.compile(rb'"bench-(\d+)"')
# Answers to a multiplexed socket's `subscribe` messages.
SUBSCRIBED_RE = re.compile(rb'"type":\s*"subscribed"')
REFUSED_RE = re.compile(rb'"type":\s*"error"')
MAX_HEAD = 64 * 1024
CLOSE_GRACE_S = 2.0


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class ConnectError(Exception):
    """The server answered, but not with the expected handshake."""


# --- messages between driver and workers -------------------------------------------------


@dataclass(frozen=True)
class ConnectCommand:
    """Open `count` connections; socket `i` (global index) uses `urls[i % len(urls)]`, in group
    `groups[i % len(urls)]` (default: that index), and once open sends a `subscribe` message for
    each stream of `subscribe[i % len(urls)]`, counting as connected when all are acknowledged."""

    transport: str  # "ws" | "sse"
    urls: list[str]
    first_index: int
    count: int
    key_base: int  # keys below this belong to earlier phases and are ignored
    concurrency: int  # handshakes in flight at once, per worker
    spread_s: float  # 0: as fast as possible; else start them evenly over this many seconds
    timeout_s: float  # per connection, TCP connect + handshake
    groups: list[int] | None = None
    subscribe: list[tuple[str, ...]] | None = None


@dataclass
class ConnectReport:
    """What one `ConnectCommand` achieved."""

    ok: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    handshake_s: list[float] = field(default_factory=list)
    per_group: Counter[int] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def merge(self, other: "ConnectReport") -> None:
        """Add another worker's report to this one."""
        self.ok += other.ok
        self.failed += other.failed
        self.errors.update(other.errors)
        self.handshake_s.extend(other.handshake_s)
        self.per_group.update(other.per_group)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)


@dataclass
class CollectReport:
    """Latencies and counters of one measurement, for the keys the driver sent."""

    latencies_ms: array = field(default_factory=lambda: array("d"))
    received: int = 0  # unique (socket, key) receipts of keys the driver sent
    duplicates: int = 0  # the same key again on the same socket
    unexpected: int = 0  # keys at or above key_base that the driver did not send
    cross_group: int = 0  # receipts of a key on a socket of another group (when groups are checked)
    other_frames: int = 0  # frames without a key: pings, comments, acks
    open_sockets: int = 0
    lost_sockets: int = 0  # closed by the server or the network during the phase
    close_codes: Counter[int] = field(default_factory=Counter)
    sockets_with_none: int = 0

    def merge(self, other: "CollectReport") -> None:
        """Add another worker's report to this one."""
        self.latencies_ms.extend(other.latencies_ms)
        self.received += other.received
        self.duplicates += other.duplicates
        self.unexpected += other.unexpected
        self.cross_group += other.cross_group
        self.other_frames += other.other_frames
        self.open_sockets += other.open_sockets
        self.lost_sockets += other.lost_sockets
        self.close_codes.update(other.close_codes)
        self.sockets_with_none += other.sockets_with_none


# --- per-worker recording ----------------------------------------------------------------


class Recorder:
    """Receive times per event key, shared by all connections of a worker."""

    def __init__(self, key_base: int = 0) -> None:
        self.key_base = key_base
        self.times: dict[int, array] = {}
        self.received = 0
        self.duplicates = 0
        self.other_frames = 0

    def on_message(self, conn: "StreamProtocol", payload: bytes | bytearray, now: float) -> None:
        """Record one frame (WebSocket message or SSE event) received at `now`."""
        match = KEY_RE.search(payload)
        if match is None:
            self.other_frames += 1
            return
        index = int(match.group(1)) - self.key_base
        if index < 0:
            self.other_frames += 1
            return
        seen = conn.seen
        if index >= len(seen):
            seen.extend(bytes(index - len(seen) + 256))
        if seen[index]:
            self.duplicates += 1
            return
        seen[index] = 1
        conn.count += 1
        self.received += 1
        times = self.times.get(index)
        if times is None:
            times = self.times[index] = array("d")
        times.append(now)


# --- protocols -----------------------------------------------------------------------------


class StreamProtocol(asyncio.Protocol):
    """An HTTP/1.1 request whose response head is checked, then a body fed to `feed`."""

    expected_status: ClassVar[int]

    def __init__(self, request: bytes, recorder: Recorder, group: int) -> None:
        self.request = request
        self.recorder = recorder
        self.group = group
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.seen = bytearray()
        self.count = 0
        self.close_code: int | None = None
        self.closing = False  # we asked for the close
        self._head = bytearray()
        self._in_body = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the request."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's class does not subclass it
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """Parse the response head once, then hand every byte to `feed`."""
        now = time.monotonic()
        if self._in_body:
            self.feed(data, now)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                self._fail("response head too large")
            return
        head, rest = bytes(self._head[:end]), bytes(self._head[end + 4 :])
        self._head = bytearray()
        status, headers = _parse_head(head)
        if status != self.expected_status:
            self._fail(f"http {status}")
            return
        self._in_body = True
        self.on_head(headers)
        self.ready.set_result(None)
        if rest:
            self.feed(rest, now)

    def connection_lost(self, exc: Exception | None) -> None:
        """Resolve the futures; a close we did not ask for counts as lost."""
        if not self.ready.done():
            self.ready.set_exception(ConnectError("closed before handshake"))
        if not self.done.done():
            self.done.set_result(None)

    def on_head(self, headers: dict[str, str]) -> None:
        """Hook: the response head was accepted."""

    def feed(self, data: bytes, now: float) -> None:
        """Hook: body bytes received at `now`."""
        raise NotImplementedError

    def close(self) -> None:
        """Ask for a clean close."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectError(reason))
        if self.transport is not None:
            self.transport.abort()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


class WebSocketProtocol(StreamProtocol):
    """RFC 6455 client: no extensions; answers pings; masks what it sends."""

    expected_status = 101

    def __init__(self, request: bytes, recorder: Recorder, group: int) -> None:
        super().__init__(request, recorder, group)
        self._buf = bytearray()
        self._fragments = bytearray()
        self.awaiting = 0  # `subscribe` messages not yet answered
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def subscribe(self, streams: tuple[str, ...]) -> None:
        """Send a `subscribe` message per stream; `subscribed` resolves when all are acknowledged."""
        self.awaiting = len(streams)
        for stream in streams:
            self._send(0x1, b'{"type": "subscribe", "stream": "' + stream.encode() + b'"}')

    def _on_text(self, payload: bytes | bytearray, now: float) -> None:
        if self.awaiting and not self.subscribed.done():
            if SUBSCRIBED_RE.search(payload):
                self.awaiting -= 1
                if not self.awaiting:
                    self.subscribed.set_result(None)
                return
            if REFUSED_RE.search(payload):
                self.subscribed.set_exception(ConnectError(f"subscribe refused: {bytes(payload[:200]).decode()}"))
                return
        self.recorder.on_message(self, payload, now)

    def feed(self, data: bytes, now: float) -> None:
        """Split the buffer into frames and handle every complete one."""
        buf = self._buf
        buf += data
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if b1 & 0x80:
                head += 4  # a masked server frame is a protocol error; skip the key anyway
            end = pos + head + length
            if end > size:
                break
            self._on_frame(b0, buf[pos + head : end], now)
            pos = end
        if pos:
            del buf[:pos]

    def _on_frame(self, b0: int, payload: bytearray, now: float) -> None:
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode in (0x1, 0x2, 0x0):
            if fin and not self._fragments:
                self._on_text(payload, now)
                return
            self._fragments += payload
            if fin:
                self._on_text(self._fragments, now)
                self._fragments = bytearray()
        elif opcode == 0x8:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.closing:  # the server started the close: echo it
                self._send(0x8, bytes(payload[:2]))
            if self.transport is not None:
                self.transport.close()
        elif opcode == 0x9:
            self._send(0xA, bytes(payload))

    def _send(self, opcode: int, payload: bytes) -> None:
        """Send one masked frame (payload under 64 KiB)."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        if len(payload) < 126:
            head = bytes((0x80 | opcode, 0x80 | len(payload)))
        else:
            head = bytes((0x80 | opcode, 0x80 | 126)) + len(payload).to_bytes(2, "big")
        self.transport.write(head + mask + masked)

    def close(self) -> None:
        """Send a close frame (1000) and let the server end the TCP connection."""
        self.closing = True
        self._send(0x8, (1000).to_bytes(2, "big"))


class SseProtocol(StreamProtocol):
    """`text/event-stream` reader: de-chunks, splits events on a blank line."""

    expected_status = 200

    def __init__(self, request: bytes, recorder: Recorder, group: int) -> None:
        super().__init__(request, recorder, group)
        self._chunked = False
        self._raw = bytearray()
        self._left = 0  # data bytes left in the current chunk
        self._skip = 0  # CRLF bytes to skip after a chunk
        self._events = bytearray()

    def on_head(self, headers: dict[str, str]) -> None:
        """Note whether the body is chunked."""
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()

    def feed(self, data: bytes, now: float) -> None:
        """De-chunk (when chunked) and pass the event-stream bytes on."""
        if not self._chunked:
            self._on_stream(data, now)
            return
        raw = self._raw
        raw += data
        while raw:
            if self._skip:
                n = min(self._skip, len(raw))
                del raw[:n]
                self._skip -= n
            elif self._left:
                n = min(self._left, len(raw))
                self._on_stream(raw[:n], now)
                del raw[:n]
                self._left -= n
                if not self._left:
                    self._skip = 2
            else:
                eol = raw.find(b"\r\n")
                if eol < 0:
                    return
                size = int(bytes(raw[:eol]).split(b";", 1)[0], 16)
                del raw[: eol + 2]
                if size == 0:
                    self.close()
                    return
                self._left = size

    def _on_stream(self, data: bytes | bytearray, now: float) -> None:
        events = self._events
        events += data
        if b"\r" in events:  # CRLF line ends, possibly split across reads
            events[:] = events.replace(b"\r\n", b"\n")
        start = 0
        while (end := events.find(b"\n\n", start)) >= 0:
            if end > start:
                self.recorder.on_message(self, events[start:end], now)
            start = end + 2
        if start:
            del events[:start]


PROTOCOLS: dict[str, type[StreamProtocol]] = {"ws": WebSocketProtocol, "sse": SseProtocol}


def build_request(transport: str, url: str) -> tuple[str, int, bytes]:
    """Host, port and the raw HTTP/1.1 request that opens a stream at `url`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}"]
    if transport == "ws":
        key = base64.b64encode(os.urandom(16)).decode()
        lines += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: http://{host}:{port}",
        ]
    else:
        lines += ["Accept: text/event-stream", "Cache-Control: no-cache"]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode()


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, ConnectError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, OSError):
        return f"oserror {exc.errno}"
    return type(exc).__name__


# --- the worker process ----------------------------------------------------------------------


class Worker:
    """The connections of one worker process and the commands the driver sends it."""

    def __init__(self) -> None:
        self.conns: list[StreamProtocol] = []
        self.recorder = Recorder()

    async def connect(self, cmd: ConnectCommand) -> ConnectReport:
        """Open the connections of `cmd`, bounded in concurrency and time."""
        self.recorder.key_base = cmd.key_base
        report = ConnectReport()
        limit = asyncio.Semaphore(max(1, cmd.concurrency))
        started = time.monotonic()

        async def open_one(offset: int) -> None:
            if cmd.spread_s > 0:
                await asyncio.sleep(max(0.0, started + offset * cmd.spread_s / cmd.count - time.monotonic()))
            index = (cmd.first_index + offset) % len(cmd.urls)
            group = cmd.groups[index] if cmd.groups else index
            streams = cmd.subscribe[index] if cmd.subscribe else ()
            async with limit:
                t = time.monotonic()
                try:
                    opening = self._open(cmd.transport, cmd.urls[index], group, streams)
                    conn = await asyncio.wait_for(opening, cmd.timeout_s)
                except (OSError, ConnectError, TimeoutError) as exc:
                    report.failed += 1
                    report.errors[_error_name(exc)] += 1
                    return
                report.handshake_s.append(time.monotonic() - t)
            report.ok += 1
            report.per_group[group] += 1
            self.conns.append(conn)

        await asyncio.gather(*(open_one(i) for i in range(cmd.count)))
        report.elapsed_s = time.monotonic() - started
        return report

    async def _open(self, transport: str, url: str, group: int, streams: tuple[str, ...]) -> StreamProtocol:
        host, port, request = build_request(transport, url)
        loop = asyncio.get_running_loop()
        protocol_class = PROTOCOLS[transport]
        tcp, conn = await loop.create_connection(lambda: protocol_class(request, self.recorder, group), host, port)
        try:
            await conn.ready
            if streams:
                assert isinstance(conn, WebSocketProtocol), "only WebSocket clients subscribe"
                conn.subscribe(streams)
                await asyncio.wait({conn.subscribed, conn.done}, return_when=asyncio.FIRST_COMPLETED)
                if not conn.subscribed.done():
                    raise ConnectError(f"closed while subscribing ({conn.close_code})")
                conn.subscribed.result()
        except BaseException:
            tcp.abort()
            raise
        return conn

    def progress(self) -> tuple[int, int]:
        """(unique receipts so far, sockets still open)."""
        return self.recorder.received, sum(1 for c in self.conns if not c.done.done())

    def collect(self, t0: dict[int, float], group_of: dict[int, int] | None = None) -> CollectReport:
        """Turn receive times into latencies (ms) against the driver's `t0` per key; with
        `group_of` (key -> group), count every receipt on a socket of another group."""
        report = CollectReport(
            duplicates=self.recorder.duplicates,
            other_frames=self.recorder.other_frames,
        )
        base = self.recorder.key_base
        latencies = report.latencies_ms
        for index, times in self.recorder.times.items():
            sent_at = t0.get(index + base)
            if sent_at is None:
                report.unexpected += len(times)
                continue
            report.received += len(times)
            latencies.extend([(t - sent_at) * 1000.0 for t in times])
        for conn in self.conns:
            if conn.done.done():
                if not conn.closing:
                    report.lost_sockets += 1
            else:
                report.open_sockets += 1
            if conn.close_code is not None and not conn.closing:
                report.close_codes[conn.close_code] += 1
            if conn.count == 0:
                report.sockets_with_none += 1
            if group_of is not None:
                report.cross_group += _cross_group(conn, base, group_of)
        return report

    async def close(self) -> int:
        """Close every connection (cleanly, then by force after a grace period); reset."""
        for conn in self.conns:
            conn.close()
        pending = [c.done for c in self.conns if not c.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_GRACE_S)
        for conn in self.conns:
            if not conn.done.done() and conn.transport is not None:
                conn.transport.abort()
        closed = len(self.conns)
        self.conns = []
        self.recorder = Recorder()
        return closed


async def _serve(pipe: Connection) -> None:
    worker = Worker()
    loop = asyncio.get_running_loop()
    while True:
        command, payload = await loop.run_in_executor(None, pipe.recv)
        if command == "connect":
            pipe.send(await worker.connect(payload))
        elif command == "progress":
            pipe.send(worker.progress())
        elif command == "collect":
            pipe.send(worker.collect(*payload))
        elif command == "close":
            pipe.send(await worker.close())
        elif command == "exit":
            await worker.close()
            pipe.send(None)
            return


def worker_main(pipe: Connection) -> None:
    """Entry point of a worker process."""
    # Ctrl-C reaches the whole process group; the driver closes the workers in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile_limit()
    uvloop.run(_serve(pipe))


# --- the driver side -------------------------------------------------------------------------


class LoadClient:
    """A pool of worker processes holding the connections of one phase at a time."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        for _ in range(max(1, workers)):
            ours, theirs = context.Pipe()
            proc = context.Process(target=worker_main, args=(theirs,), daemon=True)
            proc.start()
            self._pipes.append(ours)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers, for CPU accounting."""
        return [p.pid for p in self._procs if p.pid is not None]

    async def _all(self, command: str, payloads: list[object] | None = None) -> list[object]:
        payloads = payloads if payloads is not None else [None] * len(self._pipes)
        return await asyncio.gather(
            *(
                asyncio.to_thread(_round_trip, pipe, command, payload)
                for pipe, payload in zip(self._pipes, payloads, strict=True)
            )
        )

    async def connect(
        self,
        transport: str,
        urls: list[str],
        sockets: int,
        *,
        key_base: int,
        concurrency: int = 200,
        spread_s: float = 0.0,
        timeout_s: float = 15.0,
        groups: list[int] | None = None,
        subscribe: list[tuple[str, ...]] | None = None,
    ) -> ConnectReport:
        """Open `sockets` connections, split evenly over the workers (see `ConnectCommand`)."""
        shares = _split(sockets, len(self._pipes))
        commands: list[object] = []
        first = 0
        for share in shares:
            commands.append(
                ConnectCommand(
                    transport, urls, first, share, key_base, concurrency, spread_s, timeout_s, groups, subscribe
                )
            )
            first += share
        total = ConnectReport()
        for report in await self._all("connect", commands):
            assert isinstance(report, ConnectReport)
            total.merge(report)
        return total

    async def progress(self) -> tuple[int, int]:
        """(unique receipts so far, sockets still open), over all workers."""
        received = open_ = 0
        for item in await self._all("progress"):
            assert isinstance(item, tuple)
            received += item[0]
            open_ += item[1]
        return received, open_

    async def collect(self, t0: dict[int, float], group_of: dict[int, int] | None = None) -> CollectReport:
        """Latencies of every receipt of the keys in `t0`, and the phase's counters; with
        `group_of`, receipts outside their key's group are counted in `cross_group`."""
        total = CollectReport()
        for report in await self._all("collect", [(t0, group_of)] * len(self._pipes)):
            assert isinstance(report, CollectReport)
            total.merge(report)
        return total

    async def close(self) -> None:
        """Close every connection of the phase."""
        await self._all("close")

    def shutdown(self) -> None:
        """Stop the worker processes."""
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(("exit", None))
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)


def _round_trip(pipe: Connection, command: str, payload: object) -> object:
    pipe.send((command, payload))
    return pipe.recv()


def _cross_group(conn: StreamProtocol, key_base: int, group_of: dict[int, int]) -> int:
    """How many keys `conn` received that belong to another group than its own."""
    seen, wrong, index = conn.seen, 0, conn.seen.find(1)
    while index >= 0:
        group = group_of.get(index + key_base)
        if group is not None and group != conn.group:
            wrong += 1
        index = seen.find(1, index + 1)
    return wrong


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
