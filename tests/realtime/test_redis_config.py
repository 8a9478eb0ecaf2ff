"""
The one reader of Redis URLs (apps/realtime/redis_config.py): every form it accepts, what it
makes of each for channels-redis, redis-py, Django's cache and Celery, every error it gives,
and a server that cannot use its URL stopping at start-up with that error.
"""

from __future__ import annotations

import os
import subprocess
import zlib

import pytest
import redis
import redis.asyncio.sentinel
import redis.sentinel
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.exceptions import ImproperlyConfigured

from apps.realtime.redis_config import SentinelPool, parse, parse_list, sending_layer_host, shard_for
from config.settings.base import channel_layers_for
from tests.support import BACKEND, PYTHON

SENTINEL = "redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2:26380,[::1]/mymaster/3"


@pytest.mark.parametrize(
    ("url", "db", "password", "described"),
    [
        ("redis://127.0.0.1:6379/0", 0, None, "Redis at 127.0.0.1:6379"),
        ("redis://localhost", 0, None, "Redis at localhost:6379"),
        ("redis://:pw@cache.internal:6380/2", 2, "pw", "Redis at cache.internal:6380"),
        ("redis://user:pw@cache.internal/1?socket_timeout=3", 1, "pw", "Redis at cache.internal:6379"),
        ("rediss://:pw@cache.internal:6380/0", 0, "pw", "Redis at cache.internal:6380"),
        ("unix:///run/redis/redis.sock?db=4", 4, None, "Redis at unix:/run/redis/redis.sock"),
    ],
)
def test_it_reads_every_plain_form(url: str, db: int, password: str | None, described: str) -> None:
    target = parse(url)
    assert (target.is_sentinel, target.db, target.password, target.describe()) == (False, db, password, described)
    assert target.layer_host()["address"] == url
    assert target.celery() == (url, {})
    cache = target.cache("p:cache")
    assert cache["LOCATION"] == [url] and "pool_class" not in cache["OPTIONS"]


def test_it_reads_a_sentinel_url_with_every_part() -> None:
    target = parse(SENTINEL)
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 26379))
    assert (target.master_name, target.db, target.password) == ("mymaster", 3, "s@cret")
    assert "cret" not in target.describe() and "mymaster" in target.describe()


@pytest.mark.parametrize(
    ("url", "sentinels", "db"),
    [
        ("redis+sentinel://h1:26379/main", (("h1", 26379),), 0),
        ("redis+sentinel://h1,h2:1/main/", (("h1", 26379), ("h2", 1)), 0),
        ("redis+sentinel://h1:26379, h2:26379/main/7", (("h1", 26379), ("h2", 26379)), 7),
    ],
)
def test_it_reads_the_short_sentinel_forms(url: str, sentinels: tuple[tuple[str, int], ...], db: int) -> None:
    target = parse(url)
    assert (target.sentinels, target.master_name, target.db, target.password) == (sentinels, "main", db, None)


def test_a_sentinel_url_configures_each_library() -> None:
    target = parse(SENTINEL)
    host = target.layer_host()
    assert (host["master_name"], host["sentinels"], host["db"], host["password"]) == (
        "mymaster",
        [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 26379)],
        3,
        "s@cret",
    )
    assert "retry" not in host, "a receive must see a cut connection"
    assert sending_layer_host(host)["retry"].get_retries() > 0, "the first send after a failover must be retried"
    for backend in (RedisChannelLayer, RedisPubSubChannelLayer):
        backend(hosts=[host])  # both accept it

    url, options = target.celery()
    assert (
        url
        == "sentinel://:s%40cret@10.0.0.1:26379/3;sentinel://:s%40cret@10.0.0.2:26380/3;sentinel://:s%40cret@[::1]:26379/3"
    )
    assert options["master_name"] == "mymaster"

    cache = target.cache("p:cache")
    assert cache["LOCATION"] == [SENTINEL], "a list: Django splits a string at its commas"
    assert cache["OPTIONS"]["pool_class"] == "apps.realtime.redis_config.SentinelPool"
    pool = SentinelPool.from_url(SENTINEL, **cache["OPTIONS"] | {"pool_class": None})
    assert pool.service_name == "mymaster" and pool.connection_kwargs["db"] == 3

    sync = target.sync_client()
    assert isinstance(sync.connection_pool, redis.sentinel.SentinelConnectionPool)
    assert isinstance(target.async_client().connection_pool, redis.asyncio.sentinel.SentinelConnectionPool)
    assert isinstance(parse("redis://h/0").sync_client(), redis.Redis)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "the scheme must be one of"),
        ("127.0.0.1:6379", "the scheme must be one of"),
        ("http://127.0.0.1:6379", "the scheme must be one of"),
        ("sentinel://h:26379", "the scheme must be one of"),
        ("redis://:6379/0", "the URL has no host"),
        ("redis://h:port/0", "Port could not be cast"),
        ("redis://h:6379/zero", "database 'zero' is not a number"),
        ("unix://", "needs the socket's path"),
        ("redis+sentinel://h1:26379", "needs the master's name"),
        ("redis+sentinel://h1:26379/", "needs the master's name"),
        ("redis+sentinel:///mymaster", "at least one host:port"),
        ("redis+sentinel://h1,,h2/mymaster", "at least one host:port"),
        ("redis+sentinel://h1:abc/mymaster", "port 'abc' is not a number"),
        ("redis+sentinel://h1:70000/mymaster", "port '70000' is not a number"),
        ("redis+sentinel://:26379/mymaster", "has no host"),
        ("redis+sentinel://h1/mymaster/x", "database 'x' is not a number"),
        ("redis+sentinel://h1/mymaster/0/more", "path is /<master_name>[/<db>]"),
        ("redis+sentinel://user:pw@h1/mymaster", "a password only"),
        ("redis+sentinel://h1/mymaster?db=1", "no query string"),
    ],
)
def test_it_rejects_a_url_it_cannot_use_saying_why_with_an_example(url: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        parse(url)
    message = str(caught.value)
    assert says in message and "redis+sentinel://10.0.0.1:26379" in message, message
    assert message.startswith("REDIS_URL=")


def test_an_error_never_shows_the_password() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        parse("redis+sentinel://:hunter2@h1:26379")
    assert "hunter2" not in str(caught.value) and ":***@h1" in str(caught.value)


def test_a_list_keeps_each_sentinel_url_whole_and_its_order() -> None:
    targets = parse_list(f"redis://a:6379/0, {SENTINEL},redis+sentinel://h9/other")
    assert [t.describe().split(" ")[0] for t in targets] == ["Redis", "Sentinel", "Sentinel"]
    assert targets[1].url == SENTINEL and targets[2].master_name == "other"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "lists no Redis URL"),
        (" , ", "lists no Redis URL"),
        ("redis://a/0,redis://a/0", "lists the same Redis twice"),
        ("redis://a/0,redis+sentinel://h1", "needs the master's name"),
    ],
)
def test_a_list_it_cannot_use_is_an_error(value: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="REALTIME_REDIS_URLS") as caught:
        parse_list(value)
    assert says in str(caught.value)


def test_shard_for_is_the_hash_channels_redis_shards_with() -> None:
    layer = RedisChannelLayer(hosts=["redis://a/0", "redis://b/0", "redis://c/0"])
    names = [f"requests.unit.{n}" for n in range(200)]
    assert [shard_for(name, 3) for name in names] == [layer.consistent_hash(name) for name in names]
    # Stable across processes and versions: CRC32 of the name onto 4096 points.
    assert shard_for("requests.unit.1", 2) == (zlib.crc32(b"requests.unit.1") & 0xFFF) // 2048
    assert {shard_for(name, 2) for name in names} == {0, 1}
    assert {shard_for(name, 1) for name in names} == {0}


def test_the_channel_layers_are_one_per_redis_in_the_listed_order() -> None:
    layers = channel_layers_for("redis", "redis://a:6379/0,redis://b:6379/0", "p")
    assert list(layers) == ["default", "shard1"]
    assert [layers[alias]["CONFIG"]["hosts"][0]["address"] for alias in layers] == [
        "redis://a:6379/0",
        "redis://b:6379/0",
    ]
    pubsub = channel_layers_for("pubsub", [SENTINEL], "p")
    assert pubsub["default"]["CONFIG"]["hosts"][0]["master_name"] == "mymaster"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REDIS_URL": "redis+sentinel://h1:26379,h2:26379"}, "REDIS_URL='redis+sentinel://h1:26379,h2:26379'"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "REALTIME_REDIS_URLS": "redis://x/0,nonsense"},
            "REALTIME_REDIS_URLS",
        ),
        ({"REDIS_URL": "", "REALTIME_REDIS_URLS": "redis://x/0"}, "REALTIME_REDIS_URLS needs REDIS_URL"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "REALTIME_REDIS_WAIT_REPLICAS": "-1"},
            "realtime.E001) REALTIME['REDIS_WAIT_REPLICAS'] must be at least 0",
        ),
    ],
)
def test_a_server_with_a_url_it_cannot_use_stops_at_start_up(env: dict[str, str], says: str) -> None:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "x" * 50, **env}
    result = subprocess.run(
        [PYTHON, "manage.py", "check"], cwd=BACKEND, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    # A URL that cannot be read stops the settings; a value out of range fails its system check.
    last = result.stderr.strip().splitlines()[-1]
    stopped = last.startswith("django.core.exceptions.ImproperlyConfigured: ") or "realtime.E" in result.stderr
    assert stopped and says in result.stderr, result.stderr[-2000:]
