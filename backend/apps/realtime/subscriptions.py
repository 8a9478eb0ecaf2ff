"""
Subscribing one connection to streams through the process's hub, shared by the WebSocket
consumer (consumers.py) and the Server-Sent Events view (sse.py), so both transports
replay, resume and deduplicate the same way.

A connection joins the hub first (live events wait in a buffer), then replays the history
after `last_event_id` and sends `stream.resumed`, or `stream.reset` when the history no
longer reaches back; a stream declared with `replay_latest` instead first gets its latest
event. The buffer is then flushed, skipping ids already sent: in order, no duplicates.
A replay can run ahead of the hub (it read an event the hub has not delivered yet: a lost
message the hub fills later), so until the hub passes it, live events at or below the last
id sent are dropped too.

On a stream declared with `presence=True` the connection is then tracked (presence.py) and
gets `presence.state`, after any replay and `stream.resumed`. Presence frames that arrive
before it wait, and those it covers (rev at or below its rev) are dropped. Later frames go
as they come: two processes' changes may arrive out of rev order, which the client sorts
out (or asks `presence.get`).

A transport supplies three outputs: `_deliver(event_id, frame)` for an event,
`_send_frame(frame)` for an encoded message without an id (an ephemeral message,
`publish.publish_ephemeral`, or presence) and `_send(message)` for a control message
(`stream.resumed`, `stream.reset`, `presence.state`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from . import ids, metrics
from .history import get_history
from .hub import Hub
from .presence import State, tracker_for
from .streams import Stream

logger = logging.getLogger(__name__)


class StreamSubscriber:
    """Mixin of a hub subscriber (hub.Subscriber); the transport calls `_init_subscriptions`."""

    hub: Hub | None
    user: Any
    connection_id: str
    subscriptions: dict[str, Stream]
    _replaying: dict[str, list[tuple[str, str]]]
    _replayed_to: dict[str, tuple[int, int]]
    _presence: dict[str, str]
    _presence_rev: dict[str, int]
    _presence_waiting: dict[str, list[tuple[str, int | None]]]

    def _init_subscriptions(self) -> None:
        self.hub = None
        # Names this connection across processes: an ephemeral message it sent skips it.
        self.connection_id = uuid.uuid4().hex
        self.subscriptions = {}
        self._replaying = {}
        self._replayed_to = {}  # stream -> last id sent by a replay, until the hub passes it
        self._presence = {}  # stream -> this connection's id in the presence tracker
        self._presence_rev = {}  # stream -> rev of the last presence.state sent
        self._presence_waiting = {}  # stream -> presence frames that came before presence.state

    # -- the transport's outputs -------------------------------------------------------
    def _deliver(self, event_id: str, frame: str) -> None:
        raise NotImplementedError

    def _send_frame(self, frame: str) -> None:
        raise NotImplementedError

    def _send(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- subscriptions -----------------------------------------------------------------
    async def subscribe(
        self, stream: Stream, name: str, last_event_id: str | None, joined: Callable[[], None] | None = None
    ) -> None:
        """Join `name`; replay from `last_event_id`, or send the latest event where the
        stream asks for it; live events that arrive meanwhile wait and are deduplicated.
        `joined` is called once the stream is live for this connection, before any replay."""
        assert self.hub is not None
        if name in self.subscriptions:
            if joined is not None:
                joined()
            return
        self.subscriptions[name] = stream
        if stream.presence:
            self._presence_waiting[name] = []
        buffered = self._replaying[name] = []
        await self.hub.subscribe(name, self)
        if joined is not None:
            joined()
        last_sent: tuple[int, int] | None = None
        history = get_history()
        try:
            if last_event_id:
                async with self.hub.redis_slots:
                    entries = await history.read_after(name, last_event_id)
                if entries is None:
                    metrics.resets.inc()
                    self._send({"type": "stream.reset", "stream": name})
                else:
                    for event_id, frame in entries:
                        self._deliver(event_id, frame)
                    last_sent = ids.parse(entries[-1][0]) if entries else ids.parse(last_event_id)
                    metrics.replays.inc()
                    self._send({"type": "stream.resumed", "stream": name, "replayed": len(entries)})
            elif stream.replay_latest and (latest := await self._latest(name)):
                self._deliver(*latest)
                last_sent = ids.parse(latest[0])
        except Exception as exc:  # history unreachable: be honest, the client refetches
            logger.warning("history read for %s failed: %s", name, exc)
            self._send({"type": "stream.reset", "stream": name})
        finally:
            del self._replaying[name]
        for event_id, frame in buffered:
            key = ids.parse(event_id)
            if last_sent is None or key > last_sent:
                self._deliver(event_id, frame)
                last_sent = key
        if last_sent is not None:
            self._replayed_to[name] = last_sent
        if stream.presence:
            await self._join_presence(name)

    async def _latest(self, name: str) -> tuple[str, str] | None:
        assert self.hub is not None
        async with self.hub.redis_slots:
            return await get_history().latest(name)

    async def unsubscribe(self, name: str) -> None:
        self._replayed_to.pop(name, None)
        self._presence_rev.pop(name, None)
        self._presence_waiting.pop(name, None)
        conn = self._presence.pop(name, None)
        if conn is not None and self.hub is not None:
            tracker_for(self.hub).untrack(name, conn)
        if self.subscriptions.pop(name, None) is not None and self.hub is not None:
            await self.hub.unsubscribe(name, self)

    # -- presence ----------------------------------------------------------------------
    async def _join_presence(self, name: str) -> None:
        assert self.hub is not None
        tracker = tracker_for(self.hub)
        try:
            conn, state = await tracker.track(name, self.user.pk, self.user.get_username())
            if name not in self.subscriptions:  # unsubscribed (or disconnected) meanwhile
                tracker.untrack(name, conn)
                return
            self._presence[name] = conn
            self._send_presence_state(name, state)
        finally:
            waiting = self._presence_waiting.pop(name, [])
        for frame, rev in waiting:
            self.push_ephemeral(name, frame, rev)

    async def send_presence_state(self, name: str) -> None:
        """`presence.state` of a subscribed presence stream, fresh from the store."""
        assert self.hub is not None
        self._send_presence_state(name, await tracker_for(self.hub).state(name))

    def _send_presence_state(self, name: str, state: State | None) -> None:
        if state is None:  # the store is unreachable (logged): the client asks again later
            return
        self._presence_rev[name] = state.rev
        self._send(state.message(name))

    # hub -> connection (the hot path)
    def push(self, stream: str, event_id: str, frame: str) -> None:
        buffered = self._replaying.get(stream)
        if buffered is not None:
            buffered.append((event_id, frame))
            return
        if self._replayed_to:  # empty unless a replay ran ahead of what the hub has delivered since
            replayed_to = self._replayed_to.get(stream)
            if replayed_to is not None:
                if ids.parse(event_id) <= replayed_to:
                    return  # sent by the replay already
                del self._replayed_to[stream]
        self._deliver(event_id, frame)

    def push_ephemeral(self, stream: str, frame: str, rev: int | None = None) -> None:
        """A message without an id: not replayed, not deduplicated. A presence frame (with a
        rev) that comes before the connection's `presence.state` waits for it."""
        waiting = self._presence_waiting.get(stream)
        if waiting is not None:
            waiting.append((frame, rev))
            return
        if rev is not None and rev <= self._presence_rev.get(stream, 0):
            return  # the state this connection got covers it
        self._send_frame(frame)

    def reset(self, stream: str) -> None:
        metrics.resets.inc()
        self._send({"type": "stream.reset", "stream": stream})
