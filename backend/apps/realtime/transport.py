"""
Transport: carries each published event to every server process that has sockets on its
stream, one message per process (not per socket).

- `LocalTransport` (embedded mode): the publishing process is the only one; the event is
  handed to this process's hubs.
- `LayerTransport` (Redis modes): the configured channel layer. Each process's hub owns one
  channel and joins the group of each stream it has sockets on; publishing is one
  `group_send` per event. Synchronous publishers (views, Celery tasks) use one long-lived
  event loop in a background thread, so they never open an event loop or a Redis
  connection per call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aredis
from channels.layers import get_channel_layer
from django.conf import settings

from . import metrics

if TYPE_CHECKING:
    from .hub import Hub

logger = logging.getLogger(__name__)

Message = dict[str, Any]  # {"stream", "id", "prev", "frame", "ts"}
MESSAGE_TYPE = "realtime.event"
# A frame that is not an event (presence): no id, no prev, never in the history. Its own
# message type, so the hub's event path (gap check, dedup) never sees it.
EPHEMERAL_TYPE = "realtime.ephemeral"
# Process-to-process control messages (revalidate a user's sockets); every hub joins it.
CONTROL_STREAM = "realtime.control"


class Transport(Protocol):
    def send(self, message: Message) -> None: ...
    async def send_ephemeral(self, message: Message) -> None:
        """From the event loop: `{"stream", "frame", "rev"?}` to the stream's subscribers."""
        ...

    async def attach(self, hub: Hub) -> None: ...
    async def join(self, hub: Hub, stream: str) -> None: ...
    async def leave(self, hub: Hub, stream: str) -> None: ...


class LocalTransport:
    def __init__(self) -> None:
        self._hubs: weakref.WeakSet[Hub] = weakref.WeakSet()

    def send(self, message: Message) -> None:
        for hub in list(self._hubs):
            hub.post(message)

    async def send_ephemeral(self, message: Message) -> None:
        for hub in list(self._hubs):
            hub.loop.call_soon_threadsafe(hub.deliver_ephemeral, message)

    async def attach(self, hub: Hub) -> None:
        self._hubs.add(hub)

    async def join(self, hub: Hub, stream: str) -> None:
        pass

    async def leave(self, hub: Hub, stream: str) -> None:
        pass


class LayerTransport:
    # A publisher waits this long for Redis; then the outbox relay takes over.
    send_timeout = 2.0
    # How often each process asks Redis whether it restarted (its run_id changed).
    watch_interval = 2.0
    # Longest wait between two attempts to rejoin while Redis is away.
    max_backoff = 2.0

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        if self.layer is None:
            raise RuntimeError("CHANNEL_LAYERS has no default layer; set CHANNEL_LAYER")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        # How often every stream is reconciled with its history, lost messages or not (0: never).
        self.audit_interval = float(settings.REALTIME["RECONCILE_INTERVAL"])

    # -- publishing (any thread) ------------------------------------------------------
    def _publisher_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the publisher loop and wait for it (from synchronous code)."""
        return asyncio.run_coroutine_threadsafe(coro, self._publisher_loop()).result(self.send_timeout)

    def send(self, message: Message) -> None:
        self.run(self.layer.group_send(message["stream"], {"type": MESSAGE_TYPE, **message}))

    async def send_ephemeral(self, message: Message) -> None:
        await self.layer.group_send(message["stream"], {"type": EPHEMERAL_TYPE, **message})

    # -- receiving (the hub's event loop) ----------------------------------------------
    async def attach(self, hub: Hub) -> None:
        hub.channel = await self.layer.new_channel("realtime.hub.")
        await self.layer.group_add(CONTROL_STREAM, hub.channel)
        hub.tasks.add(asyncio.create_task(self._receive(hub), name="realtime-hub-receive"))
        hub.tasks.add(asyncio.create_task(self._watch(hub), name="realtime-hub-watch"))

    async def join(self, hub: Hub, stream: str) -> None:
        await self.layer.group_add(stream, hub.channel)

    async def leave(self, hub: Hub, stream: str) -> None:
        await self.layer.group_discard(stream, hub.channel)

    async def _receive(self, hub: Hub) -> None:
        backoff = 0.1
        task = asyncio.current_task()
        while True:
            try:
                message = await self.layer.receive(hub.channel)
                backoff = 0.1
            except Exception as exc:  # Redis away or our connection cut: rejoin, then reconcile
                if task is not None and task.cancelling():
                    # channels_redis can turn our cancellation into another error while
                    # cleaning up; the loop is shutting down, so stop.
                    raise asyncio.CancelledError from exc
                metrics.layer_errors.inc()
                logger.warning("channel layer receive failed (%s); rejoining", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                await self._rejoin(hub)
                continue
            kind = message.get("type")
            if kind == MESSAGE_TYPE:
                hub.deliver(message)
            elif kind == EPHEMERAL_TYPE:
                hub.deliver_ephemeral(message)

    async def _rejoin(self, hub: Hub) -> None:
        """Rejoin (and so reconcile) every stream, retrying until Redis answers."""
        backoff = 0.1
        while not await hub.rejoin():
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _watch(self, hub: Hub) -> None:
        """Every `watch_interval`, ask Redis who it is. Rejoin every group when it restarted
        (it forgot the memberships and the history) or answers again after not answering (a
        pause, an outage the receive loop may not have seen: the pub/sub layer reconnects on
        its own). Every `audit_interval`, reconcile every stream anyway: whatever was lost on
        the way, a quiet stream included, is filled or reset within that time."""
        client = aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        seen = None
        unreachable = False
        audited = time.monotonic()
        try:
            while True:
                await asyncio.sleep(self.watch_interval)
                try:
                    run_id = (await client.info("server"))["run_id"]
                except Exception as exc:
                    logger.debug("Redis not answering the restart check: %s", exc)
                    unreachable = True
                    continue
                restarted = seen is not None and run_id != seen
                if restarted or unreachable:
                    if restarted:
                        logger.warning("Redis restarted (run_id %s -> %s); rejoining groups", seen, run_id)
                        metrics.layer_errors.inc()
                    else:
                        logger.warning("Redis answers again; rejoining groups")
                    seen, unreachable = run_id, False
                    await self._rejoin(hub)
                    audited = time.monotonic()
                elif self.audit_interval and time.monotonic() - audited >= self.audit_interval:
                    audited = time.monotonic()
                    await hub.audit()
                seen = run_id
        finally:
            await client.aclose()


_transport: Transport | None = None
_transport_lock = threading.Lock()  # as for the history: creation and reset never interleave


def get_transport() -> Transport:
    global _transport
    transport = _transport
    if transport is not None:
        return transport
    with _transport_lock:
        if _transport is None:
            _transport = LocalTransport() if settings.CHANNEL_LAYER == "memory" else LayerTransport()
        return _transport


def reset_transport() -> None:
    global _transport
    with _transport_lock:
        _transport = None
