"""
Presence: who is subscribed to a stream declared with `presence=True`, per user (several
sockets or SSE responses of one user are one member).

Each connection to such a stream is tracked by its process's `PresenceTracker` (one per
hub, so one per event loop) in a store shared by every process:

- `RedisPresence` (Redis mode). Per stream, in the stream's Redis:
  `<prefix>:presence:<stream>:conns`   hash   connection id -> "<user_id>:<process>:<username>"
  `<prefix>:presence:<stream>:expiry`  zset   connection id -> when it expires (ms, Redis clock)
  `<prefix>:presence:<stream>:users`   hash   user id -> connections of that user
  `<prefix>:presence:<stream>:rev`     INCR on every change of the member set
  and `<prefix>:presence:streams`, the set of streams that have connections (for the sweeper).
  Each change is one Lua call, so two processes never both announce the same join or leave.
- `MemoryPresence` (embedded mode): the same in this process.

A connection's first appearance for its user is a join; its user's last connection going is
a leave. A connection that closes is removed after `GRACE` seconds, so a reloaded page (a new
connection of the same user within the grace) changes nothing. Every `EXPIRY / 3` seconds a
process touches all of its connections in one pipeline (one Lua call per stream, not per
connection); a process that died stops touching them, and within `SWEEP_INTERVAL` of their
expiry a live process, holding a short Redis lock (`SET NX PX`) so that one process sweeps at
a time, removes them and announces the leaves. A touch that finds its connection gone (swept
while this process could not reach Redis, or Redis restarted empty) adds it back: a join.

Changes reach the subscribers of every process as ephemeral transport messages (as
`publish.publish_ephemeral`'s): a frame with the stream's presence `rev`, no event id, never
in the history; the hub hands them to its subscribers outside its gap logic.

Past `MAX_MEMBERS` members a stream's `presence.state` lists nobody and carries counts with
`truncated: true`, and joins and leaves are no longer announced (every subscriber receiving
every change costs the square of the members); the change that crosses the cap, either way,
is announced as a fresh `presence.state`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aredis

from . import metrics
from .conf import RealtimeSettings, realtime_settings
from .redis_config import RedisTarget, realtime_targets, shard_for
from .transport import get_transport

if TYPE_CHECKING:
    from .hub import Hub

logger = logging.getLogger(__name__)

# How often a tracker looks for connections whose grace is over (and whether to touch or sweep).
TICK = 0.5
# Stream keys outlive their last touch by this much (the rev with them), then Redis drops them.
KEY_TTL_MS = 24 * 3600 * 1000

# What a change asks the tracker to announce.
QUIET, ANNOUNCE, NEW_STATE = 0, 1, 2


@dataclass(frozen=True)
class Change:
    """A user joined (`joined`) or left a stream's member set; `rev` is the stream's new rev."""

    user_id: int
    joined: bool
    rev: int
    announce: int  # QUIET past the cap, ANNOUNCE a join/leave, NEW_STATE when crossing the cap


@dataclass(frozen=True)
class State:
    rev: int
    members: dict[int, tuple[str, int]]  # user id -> (username, connections); empty when truncated
    count: int  # members
    conns: int
    truncated: bool

    def message(self, stream: str) -> dict[str, Any]:
        """The `presence.state` message."""
        members = {str(uid): {"user_id": uid, "username": name, "conns": n} for uid, (name, n) in self.members.items()}
        body: dict[str, Any] = {"type": "presence.state", "stream": stream, "rev": self.rev, "members": members}
        if self.truncated:
            body.update(truncated=True, count={"members": self.count, "conns": self.conns})
        return body

    def listing(self, stream: str) -> dict[str, Any]:
        """The body of `GET /api/presence/`."""
        members = [{"user_id": uid, "username": name, "conns": n} for uid, (name, n) in self.members.items()]
        body: dict[str, Any] = {"stream": stream, "rev": self.rev, "members": members}
        if self.truncated:
            body.update(truncated=True, count={"members": self.count, "conns": self.conns})
        return body


def conn_value(user_id: int, process: str, username: str) -> str:
    """What the store keeps for a connection; the user id first, for the Lua scripts."""
    return f"{user_id}:{process}:{username}"


def _parse_value(value: str) -> tuple[int, str]:
    user_id, _process, username = value.split(":", 2)
    return int(user_id), username


def _state(rev: int, count: int, conns: int, members: dict[int, tuple[str, int]], cap: int) -> State:
    """The state, built from the members (user id -> (username, connections)): its cost grows
    with the members, never with the connections (one user may hold thousands)."""
    return State(rev, members if count <= cap else {}, count, conns, truncated=count > cap)


def _announce_kind(after: int, joined: bool, cap: int) -> int:
    """Whether a change that leaves `after` members is announced, and how."""
    before = after - 1 if joined else after + 1
    if before <= cap and after <= cap:
        return ANNOUNCE
    if (before <= cap) != (after <= cap):
        return NEW_STATE
    return QUIET


class Store(Protocol):
    async def touch(self, streams: dict[str, dict[str, str]]) -> dict[str, list[Change]]:
        """Renew the expiry of these connections ({stream: {conn: value}}), adding the missing."""
        ...

    async def remove(self, streams: dict[str, list[str]]) -> dict[str, list[Change]]: ...

    async def sweep(self) -> dict[str, list[Change]]:
        """Remove expired connections of every stream (one process at a time)."""
        ...

    async def join(self, streams: dict[str, dict[str, str]]) -> tuple[dict[str, list[Change]], dict[str, State]]:
        """Track new connections ({stream: {conn: value}}, maybe none), then read each
        stream's state, which includes them."""
        ...

    def state_sync(self, stream: str) -> State: ...

    def drop(self, streams: dict[str, list[str]]) -> None:
        """Forget connections without announcing (a tracker whose event loop is closing)."""
        ...


# -- Redis -----------------------------------------------------------------------------------
# The Redis clock, so that every process agrees on what has expired.
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# A member set change in Lua: KEYS[3] users, KEYS[4] rev; cap in `cap`. Appends the change
# (user id, 1 joined / 0 left, rev, announce kind) to `out`. A missing rev starts from the
# clock (ms), not 0: after Redis restarted empty, revs still only increase, so subscribers
# can keep dropping what is older than what they have.
_CHANGED = """
local function changed(out, user, joined, cap)
  redis.call('SET', KEYS[4], now, 'NX')
  local rev = redis.call('INCR', KEYS[4])
  local after = redis.call('HLEN', KEYS[3])
  local before = after - 1
  if joined == 0 then before = after + 1 end
  local kind = 0
  if before <= cap and after <= cap then kind = 1 elseif (before <= cap) ~= (after <= cap) then kind = 2 end
  table.insert(out, user) table.insert(out, joined) table.insert(out, rev) table.insert(out, kind)
end
"""

# KEYS: conns, expiry, users, rev, streams, names. ARGV: expiry ms, cap, stream, key ttl ms,
# then (conn, value) pairs. Renews each connection's expiry; adds the missing (a join when
# it is its user's first, whose name goes into `names`). Also the call that tracks a new
# connection.
_TOUCH = (
    _NOW
    + _CHANGED
    + """
local cap = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[1])
local out = {}
for i = 5, #ARGV, 2 do
  local conn, value = ARGV[i], ARGV[i + 1]
  redis.call('ZADD', KEYS[2], expires, conn)
  if redis.call('HSETNX', KEYS[1], conn, value) == 1 then
    local user = string.match(value, '^(%d+):')
    if redis.call('HINCRBY', KEYS[3], user, 1) == 1 then
      redis.call('HSET', KEYS[6], user, string.match(value, '^%d+:[^:]*:(.*)$'))
      changed(out, user, 1, cap)
    end
  end
end
redis.call('SADD', KEYS[5], ARGV[3])
for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[4]) end
redis.call('PEXPIRE', KEYS[6], ARGV[4])
return out
"""
)

# KEYS: conns, expiry, users, rev, streams, names. ARGV: cap, stream, "expired" or "listed",
# then the connections when listed. Removes them (a leave when it was its user's last).
_REMOVE = (
    _NOW
    + _CHANGED
    + """
local cap = tonumber(ARGV[1])
local conns = {}
if ARGV[3] == 'expired' then
  conns = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 5000)
else
  for i = 4, #ARGV do table.insert(conns, ARGV[i]) end
end
local out = {}
for _, conn in ipairs(conns) do
  local value = redis.call('HGET', KEYS[1], conn)
  redis.call('ZREM', KEYS[2], conn)
  if value then
    redis.call('HDEL', KEYS[1], conn)
    local user = string.match(value, '^(%d+):')
    if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
      redis.call('HDEL', KEYS[3], user)
      redis.call('HDEL', KEYS[6], user)
      changed(out, user, 0, cap)
    end
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[5], ARGV[2]) end
return out
"""
)

# KEYS: conns, users, rev, names. ARGV: cap. Returns {rev, members, conns, (user, conns,
# name) triples (none past the cap)}: the members' own keys, never every connection.
_STATE = """
local members = redis.call('HLEN', KEYS[2])
local listed = {}
if members <= tonumber(ARGV[1]) then
  local users = redis.call('HGETALL', KEYS[2])
  for i = 1, #users, 2 do
    table.insert(listed, users[i]) table.insert(listed, users[i + 1])
    table.insert(listed, redis.call('HGET', KEYS[4], users[i]) or '')
  end
end
return {tonumber(redis.call('GET', KEYS[3]) or '0'), members, redis.call('HLEN', KEYS[1]), listed}
"""


def _changes(raw: list[Any]) -> list[Change]:
    return [Change(int(raw[i]), raw[i + 1] == 1, int(raw[i + 2]), int(raw[i + 3])) for i in range(0, len(raw), 4)]


class RedisPresence:
    """Presence in Redis: each stream's keys on the stream's own Redis (`shard_for`), with
    the Sentinel-aware clients of redis_config; one pipeline per Redis for a batch."""

    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> RedisPresence:
        return cls(
            realtime_targets(),
            conf.redis_prefix,
            int(conf.PRESENCE_MAX_MEMBERS),
            int(conf.PRESENCE_EXPIRY * 1000),
            int(conf.PRESENCE_SWEEP_INTERVAL * 1000),
        )

    def __init__(self, targets: list[RedisTarget], prefix: str, cap: int, expiry_ms: int, sweep_ms: int) -> None:
        self.targets, self.prefix, self.cap = targets, prefix, cap
        self.expiry_ms, self.sweep_ms = expiry_ms, sweep_ms
        self._sync = [target.sync_client() for target in targets]
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[aredis.Redis]] = (
            weakref.WeakKeyDictionary()
        )
        self.streams_key = f"{prefix}:presence:streams"
        self.lock_key = f"{prefix}:presence:sweep"

    def shard(self, stream: str) -> int:
        return shard_for(stream, len(self.targets))

    def keys(self, stream: str) -> list[str]:
        base = f"{self.prefix}:presence:{stream}"
        return [f"{base}:conns", f"{base}:expiry", f"{base}:users", f"{base}:rev", self.streams_key, f"{base}:names"]

    def _client(self, index: int) -> aredis.Redis:
        """This event loop's client of the `index`-th Redis (redis.asyncio clients belong to one loop)."""
        loop = asyncio.get_running_loop()
        clients = self._async.get(loop)
        if clients is None:
            clients = self._async[loop] = [target.async_client() for target in self.targets]
        return clients[index]

    async def _pipeline(self, calls: list[tuple[str, str, list[Any]]]) -> list[Any]:
        """Run (stream, script, args) calls, one pipeline per Redis; their results, in order."""
        by_shard: dict[int, list[int]] = {}
        for position, (stream, _, _) in enumerate(calls):
            by_shard.setdefault(self.shard(stream), []).append(position)
        results: list[Any] = [None] * len(calls)
        for index, positions in by_shard.items():
            async with self._client(index).pipeline(transaction=False) as pipe:
                for position in positions:
                    stream, script, args = calls[position]
                    keys = self._state_keys(stream) if script is _STATE else self.keys(stream)
                    pipe.eval(script, len(keys), *keys, *args)
                for position, result in zip(positions, await pipe.execute(), strict=True):
                    results[position] = result
        return results

    async def _scripts(self, calls: list[tuple[str, str, list[Any]]]) -> dict[str, list[Change]]:
        results = await self._pipeline(calls)
        return {stream: _changes(raw) for (stream, _, _), raw in zip(calls, results, strict=True) if raw}

    def _touches(self, streams: dict[str, dict[str, str]]) -> list[tuple[str, str, list[Any]]]:
        calls = []
        for stream, conns in streams.items():
            if conns:
                pairs = [item for conn, value in conns.items() for item in (conn, value)]
                calls.append((stream, _TOUCH, [self.expiry_ms, self.cap, stream, KEY_TTL_MS, *pairs]))
        return calls

    async def touch(self, streams: dict[str, dict[str, str]]) -> dict[str, list[Change]]:
        return await self._scripts(self._touches(streams))

    async def join(self, streams: dict[str, dict[str, str]]) -> tuple[dict[str, list[Change]], dict[str, State]]:
        touches = self._touches(streams)
        reads: list[tuple[str, str, list[Any]]] = [(stream, _STATE, [self.cap]) for stream in streams]
        results = await self._pipeline(touches + reads)
        touched, read = results[: len(touches)], results[len(touches) :]
        changes = {stream: _changes(raw) for (stream, _, _), raw in zip(touches, touched, strict=True) if raw}
        states = {stream: self._parse_state(raw) for (stream, _, _), raw in zip(reads, read, strict=True)}
        return changes, states

    async def remove(self, streams: dict[str, list[str]]) -> dict[str, list[Change]]:
        return await self._scripts(
            [(stream, _REMOVE, [self.cap, stream, "listed", *conns]) for stream, conns in streams.items()]
        )

    async def sweep(self) -> dict[str, list[Change]]:
        """On each Redis whose sweep lock this process gets: remove the expired connections."""
        streams: list[str] = []
        for index in range(len(self.targets)):
            client = self._client(index)
            if not await client.set(self.lock_key, 1, nx=True, px=self.sweep_ms):
                continue  # another process sweeps this Redis this round
            members: Any = await client.smembers(self.streams_key)
            streams += [s.decode() for s in members]
        return await self._scripts([(stream, _REMOVE, [self.cap, stream, "expired"]) for stream in streams])

    def _parse_state(self, raw: list[Any]) -> State:
        rev, count, conns, listed = raw
        members = {int(listed[i]): (listed[i + 2].decode(), int(listed[i + 1])) for i in range(0, len(listed), 3)}
        return _state(int(rev), int(count), int(conns), members, self.cap)

    def _state_keys(self, stream: str) -> list[str]:
        conns, _, users, rev, _, names = self.keys(stream)
        return [conns, users, rev, names]

    def state_sync(self, stream: str) -> State:
        raw: Any = self._sync[self.shard(stream)].eval(_STATE, 4, *self._state_keys(stream), self.cap)
        return self._parse_state(raw)

    def drop(self, streams: dict[str, list[str]]) -> None:
        pass  # they expire, and a live process's sweeper announces the leaves


# -- in process --------------------------------------------------------------------------------
class MemoryPresence:
    """The embedded mode's store: one process, so no expiry and no sweeper."""

    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> MemoryPresence:
        return cls(int(conf.PRESENCE_MAX_MEMBERS))

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()  # the REST view reads from its own thread
        self._conns: dict[str, dict[str, str]] = {}
        self._users: dict[str, dict[int, int]] = {}  # stream -> user id -> connections
        self._names: dict[str, dict[int, str]] = {}  # stream -> user id -> username
        self._revs: dict[str, int] = {}

    def _change(self, stream: str, user_id: int, joined: bool) -> Change:
        rev = self._revs[stream] = self._revs.get(stream, 0) + 1
        return Change(user_id, joined, rev, _announce_kind(len(self._users[stream]), joined, self.cap))

    async def touch(self, streams: dict[str, dict[str, str]]) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        with self._lock:
            for stream, conns in streams.items():
                known, users = self._conns.setdefault(stream, {}), self._users.setdefault(stream, {})
                names = self._names.setdefault(stream, {})
                for conn, value in conns.items():
                    if conn in known:
                        continue
                    known[conn] = value
                    user_id, username = _parse_value(value)
                    users[user_id] = users.get(user_id, 0) + 1
                    if users[user_id] == 1:
                        names[user_id] = username
                        out.setdefault(stream, []).append(self._change(stream, user_id, True))
        return out

    async def remove(self, streams: dict[str, list[str]]) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        with self._lock:
            for stream, conns in streams.items():
                for change in self._remove(stream, conns):
                    out.setdefault(stream, []).append(change)
        return out

    def _remove(self, stream: str, conns: list[str]) -> list[Change]:
        known, users = self._conns.get(stream, {}), self._users.get(stream, {})
        changes = []
        for conn in conns:
            value = known.pop(conn, None)
            if value is None:
                continue
            user_id = _parse_value(value)[0]
            users[user_id] -= 1
            if users[user_id] == 0:
                del users[user_id]
                self._names.get(stream, {}).pop(user_id, None)
                changes.append(self._change(stream, user_id, False))
        if not known:
            self._conns.pop(stream, None)
            self._users.pop(stream, None)
            self._names.pop(stream, None)
        return changes

    async def sweep(self) -> dict[str, list[Change]]:
        return {}

    async def join(self, streams: dict[str, dict[str, str]]) -> tuple[dict[str, list[Change]], dict[str, State]]:
        changes = await self.touch(streams)
        return changes, {stream: self.state_sync(stream) for stream in streams}

    def state_sync(self, stream: str) -> State:
        with self._lock:
            users, names = self._users.get(stream, {}), self._names.get(stream, {})
            members = {uid: (names.get(uid, ""), n) for uid, n in users.items()} if len(users) <= self.cap else {}
            conns = len(self._conns.get(stream, {}))
            return _state(self._revs.get(stream, 0), len(users), conns, members, self.cap)

    def drop(self, streams: dict[str, list[str]]) -> None:
        with self._lock:
            for stream, conns in streams.items():
                self._remove(stream, conns)


_store: Store | None = None
_store_lock = threading.Lock()


def get_store() -> Store:
    global _store
    store = _store
    if store is not None:
        return store
    with _store_lock:
        if _store is None:
            _store = realtime_settings.make_backend("PRESENCE_BACKEND")
        return _store


def reset_store() -> None:
    """Forget the configured store (the settings changed)."""
    global _store
    with _store_lock:
        _store = None


realtime_settings.on_reload(reset_store)


# -- the per-process tracker ------------------------------------------------------------------
class PresenceTracker:
    """
    This event loop's connections to presence streams: tracks and untracks them, touches
    them in batches, removes the closed ones after the grace, sweeps, and announces.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = get_store()
        self.grace = float(realtime_settings.PRESENCE_GRACE)
        self.touch_every = float(realtime_settings.PRESENCE_EXPIRY) / 3
        self.sweep_every = float(realtime_settings.PRESENCE_SWEEP_INTERVAL)
        self._local: dict[str, dict[str, str]] = {}  # stream -> conn -> value
        # stream -> user id -> this process's connections, and the members they make in all
        # (the presence_members gauge), kept as connections come and go: counting them from
        # `_local` on each connection made a ramp of n connections cost n^2.
        self._members: dict[str, dict[int, int]] = {}
        self._member_total = 0
        self._leaving: deque[tuple[float, str, str]] = deque()  # (when, stream, conn), in order
        # Recorded with each connection (operators see which process holds what); the
        # nonce keeps connection ids apart across hosts and forks.
        nonce = uuid.uuid4().hex[:8]
        self.process = f"{socket.gethostname().replace(':', '-')}-{os.getpid()}-{nonce}"
        self._conn_prefix = nonce
        self._next_conn = 0
        self._names: dict[int, str] = {}  # user id -> username, for the joins this process announces
        self._outbox: dict[str, list[dict[str, Any] | None]] = {}  # stream -> bodies (None: a fresh state)
        self._wake = asyncio.Event()
        self._started = False
        self._joining: list[tuple[str, str, str, asyncio.Future[State | None]]] = []
        # One change of the store at a time: its revs then reach the outbox, and the other
        # processes, in the order Redis gave them.
        self._changing = asyncio.Lock()
        self._joiner_running = False

    def start(self) -> None:
        """Start touching, removing, sweeping and announcing (idempotent): with the hub in
        Redis mode, else with the first connection tracked."""
        if not self._started:
            self._started = True
            loop = asyncio.get_running_loop()
            self.hub.tasks.add(loop.create_task(self._run(), name="realtime-presence"))
            self.hub.tasks.add(loop.create_task(self._send(), name="realtime-presence-send"))

    async def track(self, stream: str, user_id: int, username: str) -> tuple[str, State | None]:
        """A connection subscribed to `stream`: its id (for `untrack`) and the stream's state
        including it (None when the store cannot be reached: the next touch adds it then)."""
        self.start()
        self._next_conn += 1
        conn = f"{self._conn_prefix}.{self._next_conn}"
        value = conn_value(user_id, self.process, username)
        self._names[user_id] = username
        self._local.setdefault(stream, {})[conn] = value
        self._count(stream, user_id, 1)
        return conn, await self._queue(stream, conn, value)

    def untrack(self, stream: str, conn: str) -> None:
        """The connection left; it is removed after the grace unless its user is back by then."""
        self._leaving.append((time.monotonic() + self.grace, stream, conn))

    async def state(self, stream: str) -> State | None:
        """The stream's state (None when the store cannot be reached)."""
        return await self._queue(stream)

    async def _queue(self, stream: str, conn: str = "", value: str = "") -> State | None:
        """Joins and state reads wait for the one pipeline in flight, then go together in the
        next: a burst of connections costs a few round trips and Redis connections, not one each."""
        future: asyncio.Future[State | None] = asyncio.get_running_loop().create_future()
        self._joining.append((stream, conn, value, future))
        if not self._joiner_running:
            self._joiner_running = True
            self.hub.tasks.add(asyncio.get_running_loop().create_task(self._join_queued()))
        return await future

    async def _join_queued(self) -> None:
        try:
            while self._joining:
                batch, self._joining = self._joining, []
                streams: dict[str, dict[str, str]] = {}
                for stream, conn, value, _ in batch:
                    streams.setdefault(stream, {})
                    if conn:
                        streams[stream][conn] = value
                async with self._changing:
                    try:
                        changes, states = await self.store.join(streams)
                    except Exception as exc:  # Redis away: the next touch adds them (and announces)
                        logger.warning("presence: tracking connections failed: %s", exc)
                        changes, states = {}, {}
                    self._announce(changes)
                for stream, _, _, future in batch:
                    if not future.done():
                        future.set_result(states.get(stream))
        finally:
            self._joiner_running = False

    async def _run(self) -> None:
        now = time.monotonic()
        next_touch, next_sweep = now + self.touch_every, now + self.sweep_every * _jitter()
        try:
            while True:
                await asyncio.sleep(TICK)
                now = time.monotonic()
                await self._step(self._remove_due, now)
                if now >= next_touch:
                    next_touch = now + self.touch_every
                    await self._step(self._touch_all)
                if now >= next_sweep:
                    next_sweep = now + self.sweep_every
                    await self._step(self._sweep)
        finally:
            # The event loop is closing (a test's, or a server stopping): in process, forget
            # them now; in Redis they expire and a live process announces the leaves.
            self.store.drop({stream: list(conns) for stream, conns in self._local.items()})

    async def _step(self, step: Any, *args: Any) -> None:
        try:
            await step(*args)
        except Exception as exc:  # Redis away: try again next round; expiry covers the rest
            logger.warning("presence: %s failed: %s", step.__name__.strip("_"), exc)

    async def _remove_due(self, now: float) -> None:
        due: dict[str, list[str]] = {}
        while self._leaving and self._leaving[0][0] <= now:
            _, stream, conn = self._leaving.popleft()
            local = self._local.get(stream, {})
            value = local.pop(conn, None)
            if value is not None:
                due.setdefault(stream, []).append(conn)
                self._count(stream, int(value.split(":", 1)[0]), -1)
            if not local:
                self._local.pop(stream, None)
        if due:
            async with self._changing:
                self._announce(await self.store.remove(due))

    async def _touch_all(self) -> None:
        if self._local:
            snapshot = {stream: dict(conns) for stream, conns in self._local.items()}
            async with self._changing:
                self._announce(await self.store.touch(snapshot))

    async def _sweep(self) -> None:
        async with self._changing:
            self._announce(await self.store.sweep())

    def _announce(self, changes: dict[str, list[Change]]) -> None:
        """Queue each change for the stream's subscribers in every process; `_send` sends them."""
        for stream, found in changes.items():
            for change in found:
                (metrics.presence_joins if change.joined else metrics.presence_leaves).inc()
                if change.announce == QUIET:
                    continue
                if change.announce == NEW_STATE:
                    body = None  # read when sent: the state then
                elif change.joined:
                    body = {
                        "type": "presence.join",
                        "stream": stream,
                        "rev": change.rev,
                        "user_id": change.user_id,
                        "username": self._names.get(change.user_id, ""),
                    }
                else:
                    body = {"type": "presence.leave", "stream": stream, "rev": change.rev, "user_id": change.user_id}
                self._outbox.setdefault(stream, []).append(body)
        if self._outbox:
            self._wake.set()

    async def _send(self) -> None:
        """One sender per tracker: what queued meanwhile goes as one transport message per
        stream, so a burst of changes costs a few sends, not one each, and a connection never
        waits for the transport (nor fails with it)."""
        transport = get_transport()
        while True:
            await self._wake.wait()
            self._wake.clear()
            outbox, self._outbox = self._outbox, {}
            for stream, bodies in outbox.items():
                try:
                    items = []
                    for body in bodies:
                        if body is None:
                            state = (await self.store.join({stream: {}}))[1][stream]
                            body = state.message(stream)
                        items.append((body["rev"], json.dumps(body, separators=(",", ":"))))
                    try:
                        await transport.send_async({"stream": stream, "items": items})
                    except TimeoutError:  # a loaded moment: once more (a duplicate rev is ignored)
                        await transport.send_async({"stream": stream, "items": items})
                except Exception as exc:  # clients see the rev gap and ask presence.get
                    logger.warning("presence: announcing on %s failed: %r", stream, exc)

    def _count(self, stream: str, user_id: int, delta: int) -> None:
        users = self._members.setdefault(stream, {})
        now = users.get(user_id, 0) + delta
        if now:
            users[user_id] = now
        else:
            del users[user_id]
            if not users:
                del self._members[stream]
        if now == 0 or (now == 1 and delta > 0):
            self._member_total += delta
            metrics.presence_members.set(self._member_total)


def _jitter() -> float:
    """Spread the processes' first sweep over the interval (a restart of all at once)."""
    return 0.5 + uuid.uuid4().int % 1000 / 1000


_trackers: weakref.WeakKeyDictionary[Hub, PresenceTracker] = weakref.WeakKeyDictionary()


def tracker_for(hub: Hub) -> PresenceTracker:
    tracker = _trackers.get(hub)
    if tracker is None:
        tracker = _trackers[hub] = PresenceTracker(hub)
    return tracker
