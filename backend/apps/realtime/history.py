"""
Per-stream history: it hands out each event's id and keeps the recent events for resume.

- `MemoryHistory` (embedded mode): a bounded deque per stream in this process.
- `RedisHistory` (Redis mode): one Redis stream per stream (`XADD ... MAXLEN ~ N`), shared
  by every process; one Lua call appends and returns the new id and the previous one, so a
  subscriber can tell when it missed something (see hub.py).

Entries are the payload (the envelope JSON without `id`); `ids.with_id` makes the frame.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from typing import Any, Protocol

import redis
import redis.asyncio as aredis
from django.conf import settings

from . import ids

Entry = tuple[str, str]  # (event id, frame)


class History(Protocol):
    def append(self, stream: str, payload: str) -> tuple[str, str | None]:
        """Store a payload; return (its new id, the id before it in the stream or None)."""
        ...

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        """Frames after `last_id`, in order; None when the history no longer reaches back."""
        ...

    async def latest(self, stream: str) -> Entry | None: ...

    async def latest_ids(self, streams: list[str]) -> dict[str, str | None]:
        """The newest id of each stream (None for an empty one), in one round trip."""
        ...

    async def entries(self, stream: str) -> list[Entry]:
        """Everything the history holds for a stream, oldest first."""
        ...


class MemoryHistory:
    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._streams: dict[str, deque[tuple[tuple[int, int], str, str]]] = {}
        self._last: tuple[int, int] = (0, 0)

    def append(self, stream: str, payload: str) -> tuple[str, str | None]:
        with self._lock:
            ms = int(time.time() * 1000)
            last_ms, last_seq = self._last
            key = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
            self._last = key
            entries = self._streams.setdefault(stream, deque(maxlen=self.size))
            prev = entries[-1][1] if entries else None
            event_id = ids.format_id(*key)
            entries.append((key, event_id, payload))
        return event_id, prev

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        after = ids.parse(last_id)
        with self._lock:
            entries = list(self._streams.get(stream, ()))
        if not entries or not entries[0][0] <= after <= entries[-1][0]:
            return None
        return [(eid, ids.with_id(eid, p)) for key, eid, p in entries if key > after]

    async def entries(self, stream: str) -> list[Entry]:
        with self._lock:
            entries = list(self._streams.get(stream, ()))
        return [(eid, ids.with_id(eid, p)) for _, eid, p in entries]

    async def latest(self, stream: str) -> Entry | None:
        with self._lock:
            entries = self._streams.get(stream)
            last = entries[-1] if entries else None
        return (last[1], ids.with_id(last[1], last[2])) if last else None

    async def latest_ids(self, streams: list[str]) -> dict[str, str | None]:
        with self._lock:
            found = {stream: self._streams.get(stream) for stream in streams}
        return {stream: entries[-1][1] if entries else None for stream, entries in found.items()}


# KEYS[1] = stream key; ARGV = payload, maxlen, ttl ms. Returns {new id, previous id or false}.
_APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if last[1] then return {id, last[1][1]} end
return {id, false}
"""


class RedisHistory:
    # A stream nobody publishes to for a day is dropped; its clients get stream.reset.
    ttl_ms = 24 * 3600 * 1000

    def __init__(self, url: str, prefix: str, size: int) -> None:
        self.url, self.prefix, self.size = url, prefix, size
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._sync.register_script(_APPEND)
        # redis.asyncio clients belong to one event loop each.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = weakref.WeakKeyDictionary()

    def key(self, stream: str) -> str:
        return f"{self.prefix}:history:{stream}"

    def _client(self) -> aredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = aredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            self._async[loop] = client
        return client

    def append(self, stream: str, payload: str) -> tuple[str, str | None]:
        new, prev = self._script(keys=[self.key(stream)], args=[payload, self.size, self.ttl_ms])
        return new.decode(), prev.decode() if prev else None

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        after = ids.parse(last_id)
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.xrange(self.key(stream), "-", "+", count=1)
            pipe.xrevrange(self.key(stream), "+", "-", count=1)
            pipe.xrange(self.key(stream), f"({last_id}", "+")
            first, last, entries = await pipe.execute()
        if not first or not ids.parse(first[0][0].decode()) <= after <= ids.parse(last[0][0].decode()):
            return None
        return [(eid.decode(), ids.with_id(eid.decode(), f[b"p"].decode())) for eid, f in entries]

    async def entries(self, stream: str) -> list[Entry]:
        found: Any = await self._client().xrange(self.key(stream), "-", "+")
        return [(eid.decode(), ids.with_id(eid.decode(), f[b"p"].decode())) for eid, f in found]

    async def latest(self, stream: str) -> Entry | None:
        found: Any = await self._client().xrevrange(self.key(stream), "+", "-", count=1)
        if not found:
            return None
        eid, fields = found[0]
        return eid.decode(), ids.with_id(eid.decode(), fields[b"p"].decode())

    async def latest_ids(self, streams: list[str]) -> dict[str, str | None]:
        async with self._client().pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.xrevrange(self.key(stream), "+", "-", count=1)
            found = await pipe.execute()
        return {stream: last[0][0].decode() if last else None for stream, last in zip(streams, found, strict=True)}


_history: History | None = None
# Creation reads the settings; a reset must not land between that read and the assignment
# (another thread, a dashboard timer say, would install a history of the old settings).
_history_lock = threading.Lock()


def get_history() -> History:
    global _history
    history = _history
    if history is not None:
        return history
    with _history_lock:
        if _history is None:
            size = int(settings.REALTIME["HISTORY_SIZE"])
            if settings.REDIS_URL and settings.CHANNEL_LAYER != "memory":
                _history = RedisHistory(settings.REDIS_URL, settings.REDIS_PREFIX, size)
            else:
                _history = MemoryHistory(size)
        return _history


def reset_history() -> None:
    """Forget the configured history (tests that switch settings)."""
    global _history
    with _history_lock:
        _history = None
