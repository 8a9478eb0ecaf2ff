"""
The outbound side of one connection: bounded, and as cheap as the server allows.

`socket_writer()` gives a socket its writer: under Daphne the adapter's, which writes each
pre-encoded frame straight to the connection (daphne.py); under any other server (uvicorn)
an `AsgiSocketWriter`, a task awaiting the ASGI `send`, whose flow control blocks while the
client does not read. Either way frames wait in a bounded queue when the client does not
read, and past the bound the owner is told (it closes 4408). `chunk_writer()` gives a
started Server-Sent Events response its direct writer, or None where the response body
goes out through Django.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from . import daphne
from .connection import close_reason
from .limits import TokenBucket

Send = Callable[[dict[str, Any]], Awaitable[None]]


class SocketWriter(Protocol):
    def start(self) -> None: ...
    def count_inbound(self, bucket: TokenBucket) -> bool: ...
    def write(self, frame: str) -> None: ...
    async def close(self, code: int, reason: str = "", drop_pending: bool = False) -> None: ...
    def stop(self) -> None: ...


class AsgiSocketWriter:
    """A socket's writer under any ASGI server: a task sends what is queued."""

    def __init__(self, send: Send, limit: int, on_overflow: Callable[[], None]) -> None:
        self.send, self.limit, self.on_overflow = send, limit, on_overflow
        self.pending: list[str] = []
        self.closed = False
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Call after the socket is accepted."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def count_inbound(self, bucket: TokenBucket) -> bool:
        """Frames cannot be counted before the server queues them: the consumer counts."""
        return False

    def write(self, frame: str) -> None:
        if self.closed:
            return
        if len(self.pending) >= self.limit:
            self.pending.clear()
            self.on_overflow()
            return
        self.pending.append(frame)
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.pending:
                await self.send({"type": "websocket.send", "text": self.pending.pop(0)})

    async def close(self, code: int, reason: str = "", drop_pending: bool = False) -> None:
        """Send what is queued (unless dropping it), then the close frame."""
        if drop_pending:
            self.pending.clear()
        while self.pending:
            await self.send({"type": "websocket.send", "text": self.pending.pop(0)})
        self.stop()
        await self.send({"type": "websocket.close", "code": int(code), "reason": close_reason(code, reason)})

    def stop(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None


def socket_writer(send: Send, limit: int, on_overflow: Callable[[], None]) -> SocketWriter:
    """The writer of an accepted socket, queueing at most `limit` frames."""
    return daphne.socket_writer(send, limit, on_overflow) or AsgiSocketWriter(send, limit, on_overflow)


class ChunkWriter(Protocol):
    def write_event(self, event_id: str, frame: str) -> None: ...
    def write_text(self, text: str) -> None: ...
    def stop(self) -> None: ...


def chunk_writer(send: Any, limit: int, on_overflow: Callable[[], None]) -> ChunkWriter | None:
    """The direct writer of a started SSE response, or None: the body goes through Django."""
    return daphne.chunk_writer(send, limit, on_overflow)
