"""
Per-stream history: it hands out each event's id and keeps the recent events for resume.

- `MemoryHistory` (embedded mode): a bounded deque per stream in this process.
- `RedisHistory` (Redis mode): one Redis stream per stream (`XADD ... MAXLEN ~ N`), shared
  by every process; one Lua call appends and returns the new id and the previous one, so a
  subscriber can tell when it missed something (see hub.py). With several Redis servers
  (REALTIME_REDIS_URLS) each stream lives on `shard_for(stream)`, the server of its
  transport group; with REALTIME_REDIS_WAIT_REPLICAS an append also waits for replicas.

Entries are the payload (the envelope JSON without `id`); `ids.with_id` makes the frame.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import deque
from typing import Any, Protocol

import redis
import redis.asyncio as aredis

from . import ids
from .conf import RealtimeSettings, realtime_settings
from .redis_config import RedisTarget, realtime_targets, shard_for

logger = logging.getLogger(__name__)

Entry = tuple[str, str]  # (event id, frame)


Appended = tuple[str, str | None]  # (the new event id, the id before it in its stream or None)


class History(Protocol):
    def append(self, stream: str, payload: str) -> Appended:
        """Store a payload; return its id and the id before it in the stream (None: the first)."""
        ...

    def append_many(self, items: list[tuple[str, str]]) -> list[Appended | Exception]:
        """Store `(stream, payload)` pairs in order, in one round trip per Redis; for each,
        its ids or the error that kept it out (the others are stored all the same)."""
        ...

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        """Frames after `last_id`, in order; None when the history no longer reaches back.
        After `0-0` (a reader that started when the stream had no history): everything, as
        long as the history still holds every event it was given."""
        ...

    async def latest(self, stream: str) -> Entry | None: ...

    async def latest_ids(self, streams: list[str]) -> dict[str, str | None]:
        """The newest id of each stream (None for an empty one), in one round trip."""
        ...

    async def entries(self, stream: str) -> list[Entry]:
        """Everything the history holds for a stream, oldest first."""
        ...


class MemoryHistory:
    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> MemoryHistory:
        return cls(int(conf.HISTORY_SIZE))

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._streams: dict[str, deque[tuple[tuple[int, int], str, str]]] = {}
        self._added: dict[str, int] = {}  # events ever appended to each stream
        self._last: tuple[int, int] = (0, 0)

    def append_many(self, items: list[tuple[str, str]]) -> list[Appended | Exception]:
        return [self.append(stream, payload) for stream, payload in items]

    def append(self, stream: str, payload: str) -> Appended:
        with self._lock:
            ms = int(time.time() * 1000)
            last_ms, last_seq = self._last
            key = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
            self._last = key
            entries = self._streams.setdefault(stream, deque(maxlen=self.size))
            prev = entries[-1][1] if entries else None
            event_id = ids.format_id(*key)
            entries.append((key, event_id, payload))
            self._added[stream] = self._added.get(stream, 0) + 1
        return event_id, prev

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        after = ids.parse(last_id)
        with self._lock:
            entries = list(self._streams.get(stream, ()))
            whole = self._added.get(stream, 0) == len(entries)
        if not entries or not (entries[0][0] <= after or (after == ids.START and whole)) or after > entries[-1][0]:
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


# The newest id of each key (false for an empty or missing one): a reconcile of thousands of
# streams is one reply of ids, where a pipeline of XREVRANGE would return, and redis-py would
# parse, every stream's newest frame.
_LATEST = """
local ids = {}
for i, key in ipairs(KEYS) do
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  ids[i] = last and last[1] or false
end
return ids
"""
# Keys per call: Redis serves nothing else while a script runs (about 1 ms per 1000 keys).
LATEST_BATCH = 1000


class ReplicationTimeout(redis.RedisError):
    """Fewer replicas than REALTIME_REDIS_WAIT_REPLICAS confirmed an append in time. The
    event is in the master's history, but not yet safe from its death: the publisher fails,
    the outbox keeps the row and the relay publishes it again."""


class _Shard:
    """The history's clients of one Redis server (or Sentinel group)."""

    def __init__(self, target: RedisTarget) -> None:
        self.target = target
        self.sync = target.sync_client()
        self.script = self.sync.register_script(_APPEND)
        # redis.asyncio clients belong to one event loop each.
        self.clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = weakref.WeakKeyDictionary()

    def client(self) -> aredis.Redis:
        loop = asyncio.get_running_loop()
        client = self.clients.get(loop)
        if client is None:
            client = self.clients[loop] = self.target.async_client()
        return client


class RedisHistory:
    # A stream nobody publishes to for a day is dropped; its clients get stream.reset.
    ttl_ms = 24 * 3600 * 1000
    # How long an append waits for its replicas (REALTIME_REDIS_WAIT_REPLICAS), ms: under
    # the clients' 2 s socket timeout.
    wait_timeout_ms = 1000

    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> RedisHistory:
        return cls(realtime_targets(), conf.redis_prefix, int(conf.HISTORY_SIZE), int(conf.REDIS_WAIT_REPLICAS))

    def __init__(self, targets: list[RedisTarget], prefix: str, size: int, wait_replicas: int = 0) -> None:
        self.prefix, self.size, self.wait_replicas = prefix, size, wait_replicas
        self.shards = [_Shard(target) for target in targets]

    def key(self, stream: str) -> str:
        return f"{self.prefix}:history:{stream}"

    def shard(self, stream: str) -> _Shard:
        """The Redis holding this stream (the one its transport group is on, too)."""
        return self.shards[shard_for(stream, len(self.shards))]

    def _client(self, stream: str) -> aredis.Redis:
        return self.shard(stream).client()

    def append(self, stream: str, payload: str) -> Appended:
        (result,) = self.append_many([(stream, payload)])
        if isinstance(result, Exception):
            raise result
        return result

    def append_many(self, items: list[tuple[str, str]]) -> list[Appended | Exception]:
        results: list[Appended | Exception] = [RuntimeError("not appended")] * len(items)
        by_shard: dict[int, list[int]] = {}
        for n, (stream, _) in enumerate(items):
            by_shard.setdefault(shard_for(stream, len(self.shards)), []).append(n)
        for index, ns in by_shard.items():
            try:
                appended = self._append_on(self.shards[index], [items[n] for n in ns])
            except Exception as exc:  # this Redis is away: its items fail, the others' stand
                appended = [exc] * len(ns)
            for n, result in zip(ns, appended, strict=True):
                results[n] = result
        return results

    def _append_on(self, shard: _Shard, items: list[tuple[str, str]]) -> list[Appended | Exception]:
        """One pipeline: each item's Lua call, then (REDIS_WAIT_REPLICAS) one WAIT for all."""
        for attempt in range(2):
            with shard.sync.pipeline(transaction=False) as pipe:
                for stream, payload in items:
                    pipe.evalsha(shard.script.sha, 1, self.key(stream), payload, self.size, self.ttl_ms)
                if self.wait_replicas:
                    pipe.wait(self.wait_replicas, self.wait_timeout_ms)
                replies = pipe.execute(raise_on_error=False)
            # A Redis that restarted has forgotten the script: none of the calls ran. (redis-py's
            # own pipelined scripts would ask SCRIPT EXISTS first: a round trip every time.)
            if attempt or not any(isinstance(reply, redis.exceptions.NoScriptError) for reply in replies):
                break
            shard.sync.script_load(_APPEND)
        if self.wait_replicas:
            acknowledged = replies.pop()
            if isinstance(acknowledged, Exception):
                return [acknowledged] * len(items)
            if acknowledged < self.wait_replicas:
                appended = ", ".join(r[0].decode() for r in replies if not isinstance(r, Exception))
                timeout = ReplicationTimeout(
                    f"{acknowledged} of {self.wait_replicas} replicas confirmed event {appended} of "
                    f"{', '.join(sorted({stream for stream, _ in items}))} within {self.wait_timeout_ms} ms "
                    f"({shard.target.describe()})"
                )
                return [timeout] * len(items)
        return [r if isinstance(r, Exception) else (r[0].decode(), r[1].decode() if r[1] else None) for r in replies]

    async def read_after(self, stream: str, last_id: str) -> list[Entry] | None:
        after = ids.parse(last_id)
        async with self._client(stream).pipeline(transaction=False) as pipe:
            pipe.xrange(self.key(stream), "-", "+", count=1)
            pipe.xrevrange(self.key(stream), "+", "-", count=1)
            pipe.xrange(self.key(stream), f"({last_id}", "+")
            first, last, entries = await pipe.execute()
        if not first or after > ids.parse(last[0][0].decode()):
            return None
        if not ids.parse(first[0][0].decode()) <= after and not (after == ids.START and await self._whole(stream)):
            return None
        return [(eid.decode(), ids.with_id(eid.decode(), f[b"p"].decode())) for eid, f in entries]

    async def _whole(self, stream: str) -> bool:
        """The stream still holds every event appended to it (none trimmed): `entries-added`."""
        info: Any = await self._client(stream).xinfo_stream(self.key(stream))
        return bool(info.get("entries-added") == info.get("length"))

    async def entries(self, stream: str) -> list[Entry]:
        found: Any = await self._client(stream).xrange(self.key(stream), "-", "+")
        return [(eid.decode(), ids.with_id(eid.decode(), f[b"p"].decode())) for eid, f in found]

    async def latest(self, stream: str) -> Entry | None:
        found: Any = await self._client(stream).xrevrange(self.key(stream), "+", "-", count=1)
        if not found:
            return None
        eid, fields = found[0]
        return eid.decode(), ids.with_id(eid.decode(), fields[b"p"].decode())

    async def latest_ids(self, streams: list[str]) -> dict[str, str | None]:
        """One round trip per Redis. The streams of a Redis that does not answer are left out
        (the others are still reconciled); when none answers, its error is raised."""
        by_shard: dict[int, list[str]] = {}
        for stream in streams:
            by_shard.setdefault(shard_for(stream, len(self.shards)), []).append(stream)

        async def newest(index: int, names: list[str]) -> dict[str, str | None]:
            script = self.shards[index].client().register_script(_LATEST)  # loads it again if Redis forgot it
            found: list[bytes | None] = []
            for start in range(0, len(names), LATEST_BATCH):
                found += await script(keys=[self.key(stream) for stream in names[start : start + LATEST_BATCH]])
            return {stream: last.decode() if last else None for stream, last in zip(names, found, strict=True)}

        answers = await asyncio.gather(*(newest(i, names) for i, names in by_shard.items()), return_exceptions=True)
        result: dict[str, str | None] = {}
        failures = []
        for index, answer in zip(by_shard, answers, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                raise answer  # cancelled
            if isinstance(answer, Exception):
                logger.warning("history read on %s failed: %s", self.shards[index].target.describe(), answer)
                failures.append(answer)
            else:
                result.update(answer)
        if failures and len(failures) == len(by_shard):
            raise failures[0]
        return result


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
            _history = realtime_settings.make_backend("HISTORY_BACKEND")
        return _history


def reset_history() -> None:
    """Forget the configured history (the settings changed)."""
    global _history
    with _history_lock:
        _history = None


realtime_settings.on_reload(reset_history)
