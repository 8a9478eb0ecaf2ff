"""The Redis history's batched append: the events of one commit in one pipeline per Redis."""

from __future__ import annotations

import uuid

import redis

from apps.realtime.history import LATEST_BATCH, RedisHistory
from apps.realtime.redis_config import parse, shard_for
from tests import support


def _store(*urls: str) -> RedisHistory:
    return RedisHistory([parse(url) for url in urls], f"h{uuid.uuid4().hex[:8]}", 100)


def _calls(client: redis.Redis) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_a_batch_is_one_lua_call_per_event_and_nothing_else() -> None:
    """Each item gets its id and the id before it in its stream; the batch is one pipeline,
    without the SCRIPT EXISTS that redis-py's pipelined scripts send first."""
    with support.own_redis() as (url, _):
        store = _store(url)
        client = redis.Redis.from_url(url)
        store.append("requests.unit.1", '{"n":0}')
        client.config_resetstat()
        items = [(f"requests.unit.{n % 2 + 1}", f'{{"n":{n}}}') for n in range(6)]  # units 1, 2, 1, ...
        results = store.append_many(items)
        calls = _calls(client)
        assert calls.pop("cmdstat_evalsha") == 6
        assert set(calls) <= {"cmdstat_xadd", "cmdstat_xrevrange", "cmdstat_pexpire", "cmdstat_config|resetstat"}
        ids = [result for result in results if isinstance(result, tuple)]
        assert len(ids) == 6
        first = client.xrange(store.key("requests.unit.1"))[0][0].decode()
        assert [prev for _, prev in ids] == [first, None, ids[0][0], ids[1][0], ids[2][0], ids[3][0]]


def test_a_redis_that_forgot_the_script_is_given_it_again() -> None:
    with support.own_redis() as (url, _):
        store = _store(url)
        store.append("requests.unit.1", '{"n":1}')
        redis.Redis.from_url(url).script_flush()  # what a restart does
        (result,) = store.append_many([("requests.unit.1", '{"n":2}')])
        assert isinstance(result, tuple), result
        assert redis.Redis.from_url(url).xlen(store.key("requests.unit.1")) == 2


def test_a_redis_that_is_down_fails_its_own_items_only() -> None:
    names = [f"requests.unit.{n}" for n in range(1, 40)]
    on = {index: [name for name in names if shard_for(name, 2) == index][:2] for index in (0, 1)}
    with support.own_redis() as (url, _):
        dead = f"redis://127.0.0.1:{support.free_port()}/0"
        store = _store(url, dead)
        items = [(on[0][0], "{}"), (on[1][0], "{}"), (on[0][1], "{}"), (on[1][1], "{}")]
        results = store.append_many(items)
        assert [isinstance(result, tuple) for result in results] == [True, False, True, False]
        assert all(isinstance(result, redis.ConnectionError) for result in results[1::2])


async def test_the_newest_ids_of_thousands_of_streams_take_one_script_call_per_batch() -> None:
    """A reconcile asks for the newest id of every stream a process serves: one reply of ids
    per `LATEST_BATCH` streams, right for streams with events, empty ones and missing ones,
    also after Redis forgot the script."""
    with support.own_redis() as (url, _):
        store = _store(url)
        names = [f"notifications.user.{n}" for n in range(2 * LATEST_BATCH + 500)]
        written = {name: store.append(name, "{}")[0] for name in names[::7]}
        client = redis.Redis.from_url(url)
        client.xadd(store.key(names[1]), {"p": "{}"})
        client.xdel(store.key(names[1]), client.xrange(store.key(names[1]))[0][0])  # an empty stream
        assert await store.latest_ids(names[:1]) == {names[0]: written[names[0]]}  # the script is loaded
        client.config_resetstat()
        newest = await store.latest_ids(names)
        assert newest == {name: written.get(name) for name in names}
        assert _calls(client)["cmdstat_evalsha"] == 3
        client.script_flush()  # what a restart does
        assert await store.latest_ids(names) == newest
