"""
The per-process fan-out hub. One hub per event loop (one per server process in practice)
keeps the local subscribers of each stream, joins the transport once per stream, and hands
each pre-encoded frame to every local subscriber: no per-socket channel-layer traffic and
no per-socket JSON encoding.

It also keeps the live path exact: every message carries the id of the event before it in
the stream (`prev`). A message whose `prev` is not the last id delivered means something
was missed (a transport queue overflowed, Redis restarted, two publishers raced); the hub
reads the missing events from the history and delivers them in order, or tells its
subscribers `stream.reset` when the history cannot fill the gap. Duplicates are dropped.

A missed message is noticed when the next one arrives; when the missed one was the last of
a burst, or the stream goes quiet, nothing comes after it. So the hub *reconciles*: it compares
the last id it delivered with the newest id in the history and fills the difference the same
way (or sends `stream.reset`), without waiting for another event. It reconciles a stream
`TAIL_CHECK_AFTER` seconds after it was active, every stream whenever the transport (re)joins
them (Redis restarted, came back, failed over, or the receive loop recovered), and every stream
on the transport's periodic audit. The history is written before the transport is, so on a busy
stream the newest event is often on its way when a tail check or an audit looks: those two only
note where the history stood and look again `TAIL_CHECK_AFTER` later, filling then what is still
missing up to that point (an event that merely was in flight has arrived by then and is no
loss). A rejoin fills at once. A stream joined while its history was empty starts from
`EMPTY`, so that even its first events are accounted for: the history gives them all while
it still holds every event it was given, else the subscribers get `stream.reset`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

from . import ids, metrics
from .conf import realtime_settings
from .history import get_history
from .transport import CONTROL_STREAM, Message, get_transport

logger = logging.getLogger(__name__)

# Seconds after a stream's activity at which the hub checks it did not miss the last events.
TAIL_CHECK_AFTER = 1.0
# The position of a stream whose history was empty when this hub joined it.
EMPTY = ids.START
# Redis operations the streams of one event loop run at once (joins, leaves, history reads);
# the others wait their turn. redis-py's and channels-redis's pools hold 100 connections each
# and fail the next at once: 5000 sockets leaving together, or a burst of gap fills, did.
REDIS_AT_ONCE = 50


class Subscriber(Protocol):
    # Ephemeral messages (no id) name the connection that sent them, which does not get them.
    connection_id: str

    def push(self, stream: str, event_id: str, frame: str) -> None: ...
    # `rev`: a presence frame's rev (presence.py), None for other ephemeral messages.
    def push_ephemeral(self, stream: str, frame: str, rev: int | None) -> None: ...
    def reset(self, stream: str) -> None: ...


class Connection(Protocol):
    """A socket or SSE response that re-checks its user's access, or ends, when told to."""

    async def revalidate(self) -> None: ...

    def disconnect(self, reason: str) -> None:
        """End the connection as unauthenticated (4401 on a socket)."""
        ...


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # The transport that calls this hub back: it owns the hub's channel and reading tasks.
        self.transport = get_transport()
        self.tasks: set[asyncio.Task[None]] = set()
        self.attached: asyncio.Task[None] | None = None
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self._filling: dict[str, list[Message]] = {}
        self._tail_checks: dict[str, asyncio.TimerHandle] = {}
        # Where the history stood at a check that found it ahead of the stream here: what is
        # still missing up to it at the next check was lost, not in flight.
        self._behind: dict[str, tuple[int, int]] = {}
        self._connections: dict[int, set[Connection]] = {}
        # One lock per stream (with how many hold or wait for it): joining and leaving a stream
        # never interleave, and streams join side by side (a thousand new streams at once
        # used to queue behind one another's Redis round trips, their sockets not yet live).
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Taken around every Redis operation of this loop's streams (`REDIS_AT_ONCE`); the
        # connections' replays take it too.
        self.redis_slots = asyncio.Semaphore(REDIS_AT_ONCE)

    def stream_counts(self) -> dict[str, int]:
        """Local subscribers of each stream."""
        return {stream: len(local) for stream, local in list(self._subscribers.items())}

    def subscriber_count(self, stream: str | None = None) -> int:
        if stream is not None:
            return len(self._subscribers.get(stream, ()))
        return sum(len(s) for s in self._subscribers.values())

    @contextlib.asynccontextmanager
    async def _stream_lock(self, stream: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(stream) or (asyncio.Lock(), 0)
        self._locks[stream] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[stream]
            if users == 1:
                del self._locks[stream]
            else:
                self._locks[stream] = (lock, users - 1)

    async def subscribe(self, stream: str, subscriber: Subscriber) -> None:
        """Add a subscriber; on return the stream is live here (joined on the transport)."""
        local = self._subscribers.get(stream)
        if local is not None:
            local.add(subscriber)
            return
        async with self._stream_lock(stream):
            local = self._subscribers.get(stream)
            if local is None:
                # Where the stream stands before joining: an event published between the two
                # is a gap, which the reconcile right after the join fills (or the next event).
                start = await self._position(stream)
                async with self.redis_slots:
                    await get_transport().join(self, stream)
                local = self._subscribers[stream] = set()
                if start is not None:
                    self._last[stream] = start
                self._look_again(stream)
            local.add(subscriber)

    async def _position(self, stream: str) -> tuple[int, int] | None:
        try:
            async with self.redis_slots:
                newest = (await get_history().latest_ids([stream]))[stream]
        except Exception as exc:  # history unreachable: the first event sets the position
            logger.warning("history read for %s failed: %s", stream, exc)
            return None
        return ids.parse(newest) if newest else EMPTY

    async def unsubscribe(self, stream: str, subscriber: Subscriber) -> None:
        async with self._stream_lock(stream):
            local = self._subscribers.get(stream)
            if local is None:
                return
            local.discard(subscriber)
            if not local:
                del self._subscribers[stream]
                self._last.pop(stream, None)
                self._behind.pop(stream, None)
                try:
                    async with self.redis_slots:
                        await get_transport().leave(self, stream)
                except Exception as exc:  # the group expires on its own; never fail a disconnect
                    logger.warning("leaving %s failed: %s", stream, exc)

    def streams(self) -> list[str]:
        """The streams with subscribers here."""
        return list(self._subscribers)

    async def rejoin(self, where: Callable[[str], bool] | None = None) -> bool:
        """Join every stream again (after Redis comes back it may have forgotten us), or those
        `where` picks (the streams of one Redis), then reconcile them. False when the
        transport is still unreachable: call again."""
        streams = [s for s in [CONTROL_STREAM, *self._subscribers] if where is None or where(s)]
        try:
            for stream in streams:
                async with self._stream_lock(stream):
                    if stream == CONTROL_STREAM or stream in self._subscribers:  # not left meanwhile
                        async with self.redis_slots:
                            await get_transport().join(self, stream)
        except Exception as exc:
            logger.warning("rejoining the streams failed: %s", exc)
            return False
        await self.reconcile([stream for stream in streams if stream != CONTROL_STREAM], at_once=True)
        return True

    async def audit(self, where: Callable[[str], bool] | None = None) -> None:
        """Reconcile every quiet stream, or those `where` picks (an active one has its tail
        check pending, and an event in flight there is not a loss)."""
        quiet = [s for s in self._subscribers if s not in self._tail_checks]
        await self.reconcile([s for s in quiet if where is None or where(s)])

    async def reconcile(self, streams: list[str] | None = None, *, at_once: bool = False) -> None:
        """For each stream (default: every stream with subscribers here), compare the last id
        delivered with the newest id in the history; deliver what is missing from the history,
        or send `stream.reset` when the history no longer reaches back that far. Unless
        `at_once`, a stream found behind for the first time is only noted and checked again
        `TAIL_CHECK_AFTER` later; it is filled when it is still behind where it was noted."""
        wanted = [s for s in (self._subscribers if streams is None else streams) if s not in self._filling]
        if not wanted:
            return
        try:
            async with self.redis_slots:
                newest = await get_history().latest_ids(wanted)
        except Exception as exc:
            logger.warning("history read for reconciling %d streams failed: %s", len(wanted), exc)
            return
        for stream, latest in newest.items():
            if latest is None or stream not in self._subscribers or stream in self._filling:
                continue  # nothing to compare with, nobody listens, or a fill is under way
            last, newest_here = self._last.get(stream, EMPTY), ids.parse(latest)
            noted = self._behind.pop(stream, None)
            if newest_here <= last:
                continue
            if not at_once and (noted is None or noted <= last):
                self._behind[stream] = newest_here  # perhaps in flight: look again
                self._look_again(stream)
                continue
            after = ids.format_id(*last)
            logger.warning("stream %s: events after %s did not arrive; filling them from the history", stream, after)
            metrics.reconciled.inc()
            self._filling[stream] = []
            self._start(self._fill(stream, after, latest))

    def post(self, message: Message) -> None:
        """Deliver from any thread. In a fresh context: the publishing thread's (a sync
        view's asgiref context, say) must not leak into tasks the delivery starts."""
        self.loop.call_soon_threadsafe(self.deliver, message, context=contextvars.Context())

    def deliver(self, message: Message) -> None:
        stream = message["stream"]
        local = self._subscribers.get(stream)
        if not local:
            if stream == CONTROL_STREAM:
                self._control(message)
            return
        if "id" not in message:  # ephemeral: outside the ids, the gap logic and the history
            # one frame, or (presence.py) several with their revs: [(rev, frame), ...]
            origin, items = message.get("origin"), message.get("items") or [(message.get("rev"), message["frame"])]
            for subscriber in list(local):
                if subscriber.connection_id != origin:
                    for rev, frame in items:
                        subscriber.push_ephemeral(stream, frame, rev)
            return
        pending = self._filling.get(stream)
        if pending is not None:
            pending.append(message)
            return
        key = ids.parse(message["id"])
        last = self._last.get(stream)
        if last is not None:
            if key <= last:
                return  # already delivered (gap fill, or a transport duplicate)
            prev = message.get("prev")
            if (ids.parse(prev) if prev else EMPTY) != last:
                self._filling[stream] = [message]
                self._start(self._fill(stream, ids.format_id(*last)))
                return
        self._last[stream] = key
        self._look_again(stream)
        event_id, frame = message["id"], message["frame"]
        for subscriber in list(local):
            subscriber.push(stream, event_id, frame)
        metrics.events_delivered.inc(stream.split(".", 1)[0], len(local))
        if "ts" in message:
            metrics.delivery_latency.observe(time.time() - message["ts"])

    # -- connections by user, for control messages -----------------------------------------
    def add_connection(self, user_id: int, connection: Connection) -> None:
        self._connections.setdefault(user_id, set()).add(connection)

    def remove_connection(self, user_id: int, connection: Connection) -> None:
        mine = self._connections.get(user_id)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self._connections[user_id]

    def _control(self, message: Message) -> None:
        body = json.loads(message["frame"])
        connections = list(self._connections.get(body.get("user_id"), ()))
        if body.get("kind") == "revalidate":
            for connection in connections:
                self._start(connection.revalidate())
        elif body.get("kind") == "disconnect":
            for connection in connections:
                connection.disconnect(str(body.get("reason") or "disconnected"))

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _fill(self, stream: str, after: str, latest: str | None = None) -> None:
        """Deliver the history after `after` (buffering live messages meanwhile), or reset.
        After a reset the stream continues with the events the history holds whole (Redis
        restarted empty: every event since is there, and none of them may be lost), else
        from the first live message, else from `latest`, the newest id known, if given."""
        history = get_history()
        since: list[tuple[str, str]] | None = None
        try:
            async with self.redis_slots:
                entries = await history.read_after(stream, after)
                if entries is None and ids.parse(after) != EMPTY:
                    whole = await history.read_after(stream, ids.format_id(*EMPTY))
                    since = [entry for entry in whole or [] if ids.parse(entry[0]) > ids.parse(after)]
        except Exception as exc:
            logger.warning("history read for %s failed: %s", stream, exc)
            entries = None
        pending = self._filling.pop(stream, [])
        local = self._subscribers.get(stream, set())
        if entries is None:
            logger.warning("stream %s: gap after %s cannot be filled; sending stream.reset", stream, after)
            for subscriber in list(local):
                subscriber.reset(stream)
            if since:
                entries = since
            elif pending:
                self._last[stream] = ids.parse(pending[0]["id"])
                for subscriber in list(local):
                    subscriber.push(stream, pending[0]["id"], pending[0]["frame"])
                pending = pending[1:]
            elif latest is not None and stream in self._subscribers:
                self._last[stream] = ids.parse(latest)  # the subscribers refetch up to here
        for event_id, frame in entries or []:
            self._last[stream] = ids.parse(event_id)
            for subscriber in list(local):
                subscriber.push(stream, event_id, frame)
        for message in pending:
            self.deliver(message)

    def _look_again(self, stream: str) -> None:
        """Check the stream's tail `TAIL_CHECK_AFTER` from now (unless a check is pending)."""
        if stream not in self._tail_checks:
            self._tail_checks[stream] = self.loop.call_later(TAIL_CHECK_AFTER, self._check_tail, stream)

    def _check_tail(self, stream: str) -> None:
        self._tail_checks.pop(stream, None)
        if stream in self._subscribers:
            self._start(self.reconcile([stream]))

    async def close(self) -> None:
        """Stop receiving (tests, commands, and servers that shut an event loop down)."""
        for handle in self._tail_checks.values():
            handle.cancel()
        self._tail_checks.clear()
        await self.transport.detach(self)
        pending = [task for task in self.tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def stream_counts() -> dict[str, int]:
    """Subscribers of each stream in this process (every hub; from any thread)."""
    counts: dict[str, int] = {}
    for hub in list(_hubs.values()):
        for stream, n in hub.stream_counts().items():
            counts[stream] = counts.get(stream, 0) + n
    return counts


async def close_hub() -> None:
    """Close the running loop's hub, if it has one."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()


async def get_hub() -> Hub:
    """The hub of the running event loop, started on first use (or by `start_with_server`).
    A hub whose start failed (Redis away) is dropped, so that the next caller starts another;
    a caller cancelled while the hub starts (its client went away) leaves the start running
    for the others.

    With Redis the hub's presence tracker starts with it: every process that serves sweeps
    the members of dead processes, whether or not it holds presence connections itself
    (`GET /api/presence/` on a process without them would otherwise list the dead until
    some process with a presence connection swept)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
        hub.attached = loop.create_task(hub.transport.attach(hub))
    assert hub.attached is not None
    try:
        await asyncio.shield(hub.attached)
    except Exception:
        if _hubs.get(loop) is hub:
            del _hubs[loop]
            await hub.close()
        raise
    if realtime_settings.mode == "redis":
        from .presence import tracker_for  # presence builds on the hub

        tracker_for(hub).start()
    return hub


def start_with_server() -> None:
    """Start the running loop's hub now rather than with the first connection (a server
    that has begun listening calls this): with Redis, the process then sweeps presence from
    its start. A failure is logged; the first connection tries again."""
    if realtime_settings.mode != "redis":
        return

    async def start() -> None:
        try:
            await get_hub()
        except Exception as exc:
            logger.warning("the real-time hub could not start yet (%s); the first connection tries again", exc)

    _starting.add(task := asyncio.get_running_loop().create_task(start(), name="realtime-hub-start"))
    task.add_done_callback(_starting.discard)


_starting: set[asyncio.Task[None]] = set()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI lifespan protocol (uvicorn speaks it; Daphne does not, and the production
    launcher calls `start_with_server` when Daphne listens)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            start_with_server()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
