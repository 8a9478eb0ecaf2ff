"""The hub with hundreds of streams joining and leaving at once (a deploy, a network blip)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async

from apps.realtime import hub as hub_module
from apps.realtime.hub import get_hub
from apps.realtime.publish import publish
from tests import support
from tests.reliability import faults

STREAMS = 400  # each join and leave needs a pooled Redis connection; the pools hold 100


class Recorder:
    connection_id = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.resets: list[str] = []

    def push(self, stream: str, event_id: str, frame: str) -> None:
        self.events.append((stream, event_id))

    def push_ephemeral(self, stream: str, frame: str, rev: int | None) -> None:
        pass

    def reset(self, stream: str) -> None:
        self.resets.append(stream)


@pytest.mark.parametrize("mode", ["redis", "pubsub"])
async def test_hundreds_of_streams_join_and_leave_at_once(
    mode: str, redis_url: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Every join and leave succeeds (they take turns, `REDIS_AT_ONCE`, instead of failing
    with "Too many connections"), every stream is live once joined, and none is left behind
    in Redis."""
    prefix = f"hub{uuid.uuid4().hex[:8]}"
    with support.configured_layer(settings, mode, redis_url, prefix=prefix):
        the_hub = await get_hub()
        recorder = Recorder()
        streams = [f"notifications.user.{n}" for n in range(1, STREAMS + 1)]
        await asyncio.gather(*(the_hub.subscribe(stream, recorder) for stream in streams))
        sent = await sync_to_async(publish)(streams[-1], {"type": "notification.created", "n": 1})
        while not recorder.events:
            await asyncio.sleep(0.02)
        assert recorder.events == [(streams[-1], sent)]
        await asyncio.gather(*(the_hub.unsubscribe(stream, recorder) for stream in streams))
        assert the_hub.streams() == []
        assert recorder.resets == []
        assert "failed" not in caplog.text, caplog.text[-2000:]
        if mode == "redis":
            groups = list(redis.Redis.from_url(redis_url).scan_iter(match=f"{prefix}*group:notifications.*"))
            assert groups == [], f"{len(groups)} groups left in Redis"


async def delivers(the_hub: Any, stream: str = "notifications.user.1") -> None:
    """`the_hub` works: an event published now reaches its subscriber."""
    recorder = Recorder()
    await the_hub.subscribe(stream, recorder)
    sent = await sync_to_async(publish)(stream, {"type": "notification.created", "n": 1})
    async with asyncio.timeout(30):
        while not recorder.events:
            await asyncio.sleep(0.02)
    assert recorder.events == [(stream, sent)]


@pytest.mark.parametrize("mode", ["redis", "pubsub"])
async def test_a_hub_that_could_not_start_is_started_again_by_the_next_connection(mode: str, settings: Any) -> None:
    """The first connection of a process meeting Redis away fails (the client reconnects);
    the next one, Redis back, gets a working hub rather than the failed one forever."""
    with faults.restartable_redis() as own, support.configured_layer(settings, mode, own.url, prefix="hubstart"):
        own.kill()
        with pytest.raises(redis.RedisError):
            await get_hub()
        own.start_empty()
        await delivers(await get_hub())


@pytest.mark.parametrize("mode", ["redis", "pubsub"])
async def test_a_connection_cancelled_while_the_hub_starts_leaves_it_starting_for_the_next(
    mode: str, settings: Any
) -> None:
    """The first client goes away while its process's hub waits for Redis: the hub's start
    goes on, and the next connection gets it working (not a start cancelled for good)."""
    with faults.restartable_redis() as own, support.configured_layer(settings, mode, own.url, prefix="hubcancel"):
        loop = asyncio.get_running_loop()
        with own.paused():
            first = asyncio.create_task(get_hub())
            while hub_module._hubs.get(loop) is None:
                await asyncio.sleep(0)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
        async with asyncio.timeout(30):
            await delivers(await get_hub())
