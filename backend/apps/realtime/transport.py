"""
Transport: carries each published event to every server process that has sockets on its
stream, one message per process (not per socket).

- `LocalTransport` (embedded mode): the publishing process is the only one; the event is
  handed to this process's hubs.
- `LayerTransport` (Redis modes): the configured channel layer, one per Redis server of
  REALTIME_REDIS_URLS (a stream uses the layer of `shard_for(stream)`, the server of its
  history). For each process's hub it owns one channel per layer and the tasks that read
  them, joins the group of each stream the hub has sockets on, and calls the hub back
  (`Receiver`: `deliver`, `rejoin`, `audit`); publishing is one `group_send` per event.
  Synchronous publishers (views, Celery tasks) use one long-lived event loop in a
  background thread, so they never open an event loop or a Redis connection per call.

A message without an `id` is ephemeral (`publish.publish_ephemeral`): it travels the same
way, but the hub hands it on outside its gap logic, and it never enters the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

from . import metrics
from .conf import RealtimeSettings, realtime_settings
from .redis_config import layer_alias, realtime_targets, sending_layer_host, shard_for

logger = logging.getLogger(__name__)

# {"stream", "id", "prev", "frame", "ts"}; ephemeral: {"stream", "frame", "origin"?} or
# {"stream", "items": [(rev, frame), ...]} (presence)
Message = dict[str, Any]
MESSAGE_TYPE = "realtime.event"
# Process-to-process control messages (revalidate a user's sockets); every hub joins it.
CONTROL_STREAM = "realtime.control"


class Receiver(Protocol):
    """What the transport calls back: a process's hub (hub.py)."""

    def deliver(self, message: Message) -> None: ...
    def post(self, message: Message) -> None: ...
    async def rejoin(self, where: Callable[[str], bool] | None = None) -> bool: ...
    async def audit(self, where: Callable[[str], bool] | None = None) -> None: ...


class Transport(Protocol):
    def send(self, message: Message) -> None: ...
    def send_many(self, messages: list[Message]) -> list[Exception | None]:
        """Send in order within each stream; for each message, the error that stopped it or None."""
        ...

    async def send_async(self, message: Message) -> None: ...
    async def attach(self, hub: Receiver) -> None: ...
    async def detach(self, hub: Receiver) -> None: ...
    async def join(self, hub: Receiver, stream: str) -> None: ...
    async def leave(self, hub: Receiver, stream: str) -> None: ...


class LocalTransport:
    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> LocalTransport:
        return cls()

    def __init__(self) -> None:
        self._hubs: weakref.WeakSet[Receiver] = weakref.WeakSet()

    def send(self, message: Message) -> None:
        for hub in list(self._hubs):
            hub.post(message)

    def send_many(self, messages: list[Message]) -> list[Exception | None]:
        for message in messages:
            self.send(message)
        return [None] * len(messages)

    async def send_async(self, message: Message) -> None:
        self.send(message)

    async def attach(self, hub: Receiver) -> None:
        self._hubs.add(hub)

    async def detach(self, hub: Receiver) -> None:
        self._hubs.discard(hub)

    async def join(self, hub: Receiver, stream: str) -> None:
        pass

    async def leave(self, hub: Receiver, stream: str) -> None:
        pass


class LayerTransport:
    # A publisher waits this long for Redis; then the outbox relay takes over.
    send_timeout = 2.0
    # How often each process asks Redis whether it restarted (its run_id changed).
    watch_interval = 2.0
    # Longest wait between two attempts to rejoin while Redis is away.
    max_backoff = 2.0

    @classmethod
    def from_settings(cls, conf: RealtimeSettings) -> LayerTransport:
        return cls()

    def __init__(self) -> None:
        # One channel layer per Redis (REALTIME_REDIS_URLS): a stream's group, and the
        # messages to every hub listening to it, stay on the stream's Redis, so losing one
        # server stops only its streams.
        self.targets = realtime_targets()
        self.layers = [get_channel_layer(layer_alias(index)) for index in range(len(self.targets))]
        if None in self.layers:
            raise RuntimeError("CHANNEL_LAYERS has no layer for each of REALTIME_REDIS_URLS; set CHANNEL_LAYER")
        self.layer = self.layers[0]
        # Publishing goes through a second instance of each layer whose connections retry
        # (see redis_config.sending_layer_host); the hubs receive on the first.
        self.senders = [_sending_layer(layer_alias(index)) for index in range(len(self.targets))]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        # Per hub: its channel on each layer, and the tasks that read them.
        self._channels: weakref.WeakKeyDictionary[Receiver, list[str]] = weakref.WeakKeyDictionary()
        self._tasks: weakref.WeakKeyDictionary[Receiver, set[asyncio.Task[None]]] = weakref.WeakKeyDictionary()
        # How often every stream is reconciled with its history, lost messages or not (0: never).
        self.audit_interval = float(realtime_settings.RECONCILE_INTERVAL)

    def shard(self, stream: str) -> int:
        return shard_for(stream, len(self.layers))

    # -- publishing (any thread) ------------------------------------------------------
    def _publisher_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
                self._loop = loop
            return self._loop

    def send(self, message: Message) -> None:
        (error,) = self.send_many([message])
        if error is not None:
            raise error

    def send_many(self, messages: list[Message]) -> list[Exception | None]:
        """One hand-off to the publisher loop for all: the streams' sends run side by side,
        each stream's in order (so its subscribers never see a newer event first)."""
        results: list[Exception | None] = [TimeoutError(f"not sent within {self.send_timeout} s")] * len(messages)
        by_stream: dict[str, list[int]] = {}
        for n, message in enumerate(messages):
            by_stream.setdefault(message["stream"], []).append(n)

        async def send_stream(ns: list[int]) -> None:
            for n in ns:
                message = messages[n]
                try:
                    layer = self.senders[self.shard(message["stream"])]
                    await layer.group_send(message["stream"], {"type": MESSAGE_TYPE, **message})
                except Exception as exc:  # this stream's later messages wait for the relay
                    for rest in ns[ns.index(n) :]:
                        results[rest] = exc
                    return
                results[n] = None

        async def send_all() -> None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.send_timeout):
                    await asyncio.gather(*(send_stream(ns) for ns in by_stream.values()))

        try:
            asyncio.run_coroutine_threadsafe(send_all(), self._publisher_loop()).result(self.send_timeout + 1)
        except Exception as exc:  # the publisher loop did not answer
            return [exc if result is not None else None for result in results]
        return results

    async def send_async(self, message: Message) -> None:
        """Publish from a server's event loop (ephemeral messages), without the hand-off to
        the publisher loop."""
        layer = self.senders[self.shard(message["stream"])]
        async with asyncio.timeout(self.send_timeout):
            await layer.group_send(message["stream"], {"type": MESSAGE_TYPE, **message})

    # -- receiving (the hub's event loop) ----------------------------------------------
    async def attach(self, hub: Receiver) -> None:
        self._channels[hub] = [await layer.new_channel("realtime.hub.") for layer in self.layers]
        await self.join(hub, CONTROL_STREAM)
        tasks = self._tasks[hub] = set()
        for index in range(len(self.layers)):
            tasks.add(asyncio.create_task(self._receive(hub, index), name=f"realtime-hub-receive-{index}"))
            tasks.add(asyncio.create_task(self._watch(hub, index), name=f"realtime-hub-watch-{index}"))

    async def detach(self, hub: Receiver) -> None:
        """Stop reading for `hub`. Cancel until the tasks end: channels_redis can swallow a
        cancel that lands in its blocking read."""
        tasks = self._tasks.pop(hub, set())
        self._channels.pop(hub, None)
        for _ in range(50):
            pending = [task for task in tasks if not task.done()]
            if not pending:
                return
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.1)

    async def join(self, hub: Receiver, stream: str) -> None:
        index = self.shard(stream)
        await self.layers[index].group_add(stream, self._channels[hub][index])

    async def leave(self, hub: Receiver, stream: str) -> None:
        index = self.shard(stream)
        await self.layers[index].group_discard(stream, self._channels[hub][index])

    async def _receive(self, hub: Receiver, index: int) -> None:
        layer, channel = self.layers[index], self._channels[hub][index]
        backoff = 0.1
        task = asyncio.current_task()
        while True:
            try:
                message = await layer.receive(channel)
                backoff = 0.1
            except Exception as exc:  # Redis away or our connection cut: rejoin, then reconcile
                if task is not None and task.cancelling():
                    # channels_redis can turn our cancellation into another error while
                    # cleaning up; the loop is shutting down, so stop.
                    raise asyncio.CancelledError from exc
                metrics.layer_errors.inc()
                logger.warning(
                    "channel layer receive failed on %s (%s); rejoining", self.targets[index].describe(), exc
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                await self._rejoin(hub, index)
                continue
            if message.get("type") == MESSAGE_TYPE:
                hub.deliver(message)

    def _on(self, index: int) -> Callable[[str], bool]:
        return lambda stream: self.shard(stream) == index

    async def _rejoin(self, hub: Receiver, index: int) -> None:
        """Rejoin (and so reconcile) every stream of this Redis, retrying until it answers."""
        backoff = 0.1
        while not await hub.rejoin(self._on(index)):
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _watch(self, hub: Receiver, index: int) -> None:
        """As the hub attaches and every `watch_interval` after, ask this Redis who it is. Rejoin
        its groups when it restarted (it forgot the memberships and the history), failed over
        (through Sentinel the client follows the failover, and the new master's run_id is a
        change too) or answers again after not answering (a pause, an outage the receive loop
        may not have seen: the pub/sub layer reconnects on its own). Every `audit_interval`,
        reconcile its quiet streams anyway: whatever was lost on the way is filled or reset
        within that time."""
        target = self.targets[index]
        client = target.async_client()
        seen = None
        unreachable = False
        audited = time.monotonic()
        delay = 0.0  # ask at once: a restart right after the hub attached is a restart too
        try:
            while True:
                await asyncio.sleep(delay)
                delay = self.watch_interval
                try:
                    run_id = (await client.info("server"))["run_id"]
                except Exception as exc:
                    logger.debug("%s not answering the restart check: %s", target.describe(), exc)
                    unreachable = True
                    continue
                restarted = seen is not None and run_id != seen
                if restarted or unreachable:
                    if restarted:
                        logger.warning("%s restarted or failed over (run_id %s -> %s); rejoining groups",
                                       target.describe(), seen, run_id)  # fmt: skip
                        metrics.layer_errors.inc()
                    else:
                        logger.warning("%s answers again; rejoining groups", target.describe())
                    seen, unreachable = run_id, False
                    await self._rejoin(hub, index)
                    audited = time.monotonic()
                elif self.audit_interval and time.monotonic() - audited >= self.audit_interval:
                    audited = time.monotonic()
                    await hub.audit(self._on(index))
                seen = run_id
        finally:
            await client.aclose()


def _sending_layer(alias: str) -> Any:
    config = settings.CHANNEL_LAYERS[alias]
    options = config.get("CONFIG", {})
    hosts = [sending_layer_host(host) for host in options["hosts"]]
    return import_string(config["BACKEND"])(**{**options, "hosts": hosts})


_transport: Transport | None = None
_transport_lock = threading.Lock()  # as for the history: creation and reset never interleave


def get_transport() -> Transport:
    global _transport
    transport = _transport
    if transport is not None:
        return transport
    with _transport_lock:
        if _transport is None:
            _transport = realtime_settings.make_backend("TRANSPORT_BACKEND")
        return _transport


def reset_transport() -> None:
    global _transport
    with _transport_lock:
        _transport = None


realtime_settings.on_reload(reset_transport)
