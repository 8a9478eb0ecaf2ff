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
a burst, nothing comes after it. So `TAIL_CHECK_AFTER` seconds after a stream was active the
hub compares the last id it delivered with the newest id in the history, and fills the tail
the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
import weakref
from typing import Protocol

from . import ids, metrics
from .history import get_history
from .transport import CONTROL_STREAM, Message, get_transport

logger = logging.getLogger(__name__)

# Seconds after a stream's activity at which the hub checks it did not miss the last events.
TAIL_CHECK_AFTER = 1.0


class Subscriber(Protocol):
    def push(self, stream: str, event_id: str, frame: str) -> None: ...
    def push_ephemeral(self, stream: str, frame: str, rev: int | None) -> None: ...
    def reset(self, stream: str) -> None: ...


class Connection(Protocol):
    """A socket or SSE response that re-checks its user's access when told to."""

    async def revalidate(self) -> None: ...


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.channel = ""
        self.tasks: set[asyncio.Task[None]] = set()
        self.attached: asyncio.Task[None] | None = None
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self._filling: dict[str, list[Message]] = {}
        self._tail_checks: dict[str, asyncio.TimerHandle] = {}
        self._connections: dict[int, set[Connection]] = {}
        self._lock = asyncio.Lock()

    def subscriber_count(self, stream: str | None = None) -> int:
        if stream is not None:
            return len(self._subscribers.get(stream, ()))
        return sum(len(s) for s in self._subscribers.values())

    async def subscribe(self, stream: str, subscriber: Subscriber) -> None:
        async with self._lock:
            local = self._subscribers.get(stream)
            if local is None:
                await get_transport().join(self, stream)
                local = self._subscribers[stream] = set()
            local.add(subscriber)

    async def unsubscribe(self, stream: str, subscriber: Subscriber) -> None:
        async with self._lock:
            local = self._subscribers.get(stream)
            if local is None:
                return
            local.discard(subscriber)
            if not local:
                del self._subscribers[stream]
                self._last.pop(stream, None)
                try:
                    await get_transport().leave(self, stream)
                except Exception as exc:  # the group expires on its own; never fail a disconnect
                    logger.warning("leaving %s failed: %s", stream, exc)

    async def rejoin(self) -> None:
        """Join every stream again: after Redis comes back, it may have forgotten us."""
        for stream in [CONTROL_STREAM, *self._subscribers]:
            try:
                await get_transport().join(self, stream)
            except Exception as exc:
                logger.warning("rejoining %s failed: %s", stream, exc)
                return

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
            if prev is None or ids.parse(prev) != last:
                self._filling[stream] = [message]
                task = self.loop.create_task(self._fill(stream, ids.format_id(*last)))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                return
        self._last[stream] = key
        if stream not in self._tail_checks:
            self._tail_checks[stream] = self.loop.call_later(TAIL_CHECK_AFTER, self._check_tail, stream)
        event_id, frame = message["id"], message["frame"]
        for subscriber in list(local):
            subscriber.push(stream, event_id, frame)
        metrics.events_delivered.inc(stream.split(".", 1)[0], len(local))
        if "ts" in message:
            metrics.delivery_latency.observe(time.time() - message["ts"])

    def deliver_ephemeral(self, message: Message) -> None:
        """A frame that is not an event (presence): to every local subscriber, as it comes."""
        stream, frame, rev = message["stream"], message["frame"], message.get("rev")
        for subscriber in list(self._subscribers.get(stream, ())):
            subscriber.push_ephemeral(stream, frame, rev)

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
        if body.get("kind") == "revalidate":
            for connection in list(self._connections.get(body["user_id"], ())):
                task = self.loop.create_task(connection.revalidate())
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _fill(self, stream: str, after: str) -> None:
        try:
            entries = await get_history().read_after(stream, after)
        except Exception as exc:
            logger.warning("history read for %s failed: %s", stream, exc)
            entries = None
        pending = self._filling.pop(stream, [])
        local = self._subscribers.get(stream, set())
        if entries is None:
            logger.warning("stream %s: gap after %s cannot be filled; sending stream.reset", stream, after)
            for subscriber in list(local):
                subscriber.reset(stream)
            if pending:
                self._last[stream] = ids.parse(pending[0]["id"])
                for subscriber in list(local):
                    subscriber.push(stream, pending[0]["id"], pending[0]["frame"])
                pending = pending[1:]
        else:
            for event_id, frame in entries:
                self._last[stream] = ids.parse(event_id)
                for subscriber in list(local):
                    subscriber.push(stream, event_id, frame)
        for message in pending:
            self.deliver(message)

    def _check_tail(self, stream: str) -> None:
        self._tail_checks.pop(stream, None)
        task = self.loop.create_task(self._fill_tail(stream))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _fill_tail(self, stream: str) -> None:
        """Deliver what the history holds past the last id delivered (a lost last message)."""
        if stream not in self._subscribers or stream in self._filling:
            return
        try:
            latest = await get_history().latest(stream)
        except Exception as exc:
            logger.warning("history read for %s failed: %s", stream, exc)
            return
        last = self._last.get(stream)
        if latest is None or last is None or ids.parse(latest[0]) <= last:
            return
        if stream in self._filling or stream not in self._subscribers:
            return  # a gap fill under way reads the tail too; or nobody listens any more
        after = ids.format_id(*last)
        logger.warning("stream %s: the events after %s did not arrive; filling them from the history", stream, after)
        self._filling[stream] = []
        await self._fill(stream, after)

    async def close(self) -> None:
        """Stop receiving (tests, and servers that shut an event loop down). Cancel until
        the tasks end: channels_redis can swallow a cancel that lands in its blocking read."""
        for handle in self._tail_checks.values():
            handle.cancel()
        self._tail_checks.clear()
        for _ in range(50):
            pending = [task for task in self.tasks if not task.done()]
            if not pending:
                return
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.1)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def close_hub() -> None:
    """Close the running loop's hub, if it has one."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()


async def get_hub() -> Hub:
    """The hub of the running event loop, started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
        hub.attached = loop.create_task(get_transport().attach(hub))
    assert hub.attached is not None
    await hub.attached
    return hub
