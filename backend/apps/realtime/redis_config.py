"""
Where Redis is, read once from `REDIS_URL` / `REALTIME_REDIS_URLS` and turned into the
configuration of every library that talks to it: channels-redis hosts, redis-py clients
(sync and asyncio), Django's cache and Celery's broker.

A URL is one of

    redis://[[user]:password@]host[:port][/db]      rediss://... (TLS)      unix:///path/redis.sock[?db=N]
    redis+sentinel://[:password@]host:port[,host:port...]/<master_name>[/<db>]

With a Sentinel URL every client finds the master through the Sentinels and follows a
failover without a restart (the password is the master's; the Sentinels take none).
Several URLs (`REALTIME_REDIS_URLS`) spread the streams over several servers or Sentinel
groups: `shard_for(stream)` says which one holds a stream's history and transport, with the
hash channels-redis uses for its own sharding. A URL this module cannot read stops the
process at start-up (ImproperlyConfigured), never on the first request.

This module is imported by the settings: it must not import Django models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import redis
import redis.asyncio as aredis
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.retry
import redis.sentinel
from channels_redis.utils import _consistent_hash
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ExponentialBackoff

SENTINEL_SCHEME = "redis+sentinel"
SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)
DEFAULT_SENTINEL_PORT = 26379
EXAMPLES = "redis://127.0.0.1:6379/0, or redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/0"
# Every client gets short timeouts: a Redis that does not answer must fail a call, so the
# outbox keeps the event and the caller is not held.
CLIENT_TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}


def retry(asynchronous: bool) -> redis.retry.Retry | redis.asyncio.retry.Retry:
    """Retry a command whose connection broke (a failover: the next connection asks the
    Sentinels for the new master): 4 more tries over about a second, then fail."""
    cls = redis.asyncio.retry.Retry if asynchronous else redis.retry.Retry
    return cls(ExponentialBackoff(cap=0.5, base=0.05), 4, supported_errors=(redis.ConnectionError,))


@dataclass(frozen=True)
class RedisTarget:
    """One Redis server, or one Sentinel-managed master."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    password: str | None = None

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def describe(self) -> str:
        """Where it is, without the password (for logs and error messages)."""
        if self.is_sentinel:
            hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"Sentinel master {self.master_name!r} (db {self.db}) via {hosts}"
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return f"Redis at unix:{parts.path}"
        return f"Redis at {parts.hostname}:{parts.port or 6379}"

    # -- redis-py ---------------------------------------------------------------------------
    def _master_options(self) -> dict[str, Any]:
        return {"db": self.db, "password": self.password}

    def sync_client(self, **options: Any) -> redis.Redis:
        options = {**CLIENT_TIMEOUTS, "retry": retry(False), **options}
        if self.is_sentinel:
            sentinel = redis.sentinel.Sentinel(list(self.sentinels), sentinel_kwargs=_sentinel_options(options))
            return sentinel.master_for(self.master_name, **self._master_options(), **options)
        return redis.Redis.from_url(self.url, **options)

    def async_client(self, **options: Any) -> aredis.Redis:
        options = {**CLIENT_TIMEOUTS, "retry": retry(True), **options}
        if self.is_sentinel:
            sentinels = list(self.sentinels)
            sentinel = redis.asyncio.sentinel.Sentinel(sentinels, sentinel_kwargs=_sentinel_options(options))
            return sentinel.master_for(self.master_name, **self._master_options(), **options)
        return aredis.Redis.from_url(self.url, **options)

    # -- channels-redis -------------------------------------------------------------------
    def layer_host(self) -> dict[str, Any]:
        """A `hosts` entry of RedisChannelLayer / RedisPubSubChannelLayer (both build their
        pools with channels_redis.utils.create_pool, which takes `master_name` + `sentinels`)."""
        # redis-py 8 reads with a 5 s socket timeout by default, the same as the layer's
        # BZPOPMIN wait: every idle receive would fail. Give reads room, but not forever.
        # No retry here: the hub's receive loop must see a cut connection, to rejoin and
        # reconcile; the transport sends through `sending_layer_host`.
        options: dict[str, Any] = {"socket_timeout": 15, "socket_connect_timeout": 5}
        if self.is_sentinel:
            sentinel_kwargs = {"socket_timeout": 2, "socket_connect_timeout": 2}
            return {
                "master_name": self.master_name,
                "sentinels": list(self.sentinels),
                "sentinel_kwargs": sentinel_kwargs,
                **self._master_options(),
                **options,
            }
        return {"address": self.url, **options}

    # -- Django's cache -------------------------------------------------------------------
    def cache(self, prefix: str) -> dict[str, Any]:
        """A CACHES entry. Django's RedisCache has no Sentinel support of its own, but it builds
        its pool with `OPTIONS["pool_class"].from_url(LOCATION)`: SentinelPool reads our URL."""
        config: dict[str, Any] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A list: Django splits a LOCATION string at commas (a Sentinel URL has some).
            "LOCATION": [self.url],
            "KEY_PREFIX": prefix,
            "OPTIONS": {**CLIENT_TIMEOUTS, "retry": retry(False)},
        }
        if self.is_sentinel:
            config["OPTIONS"]["pool_class"] = "apps.realtime.redis_config.SentinelPool"
        return config

    # -- Celery (kombu) ---------------------------------------------------------------------
    def celery(self) -> tuple[str, dict[str, Any]]:
        """(broker or result-backend URL, transport options to add)."""
        if not self.is_sentinel:
            return self.url, {}
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = [(f"[{host}]" if ":" in host else host, port) for host, port in self.sentinels]  # IPv6
        url = ";".join(f"sentinel://{auth}{host}:{port}/{self.db}" for host, port in hosts)
        return url, {"master_name": self.master_name, "sentinel_kwargs": {"socket_timeout": 2}}


def sending_layer_host(host: dict[str, Any]) -> dict[str, Any]:
    """A `layer_host` for a layer that only sends: a command that failed on a broken
    connection is tried again on a new one (after a failover the new connection asks the
    Sentinels, so the first send after it reaches the new master instead of failing)."""
    return {**host, "retry": retry(True)}


class SentinelPool(redis.sentinel.SentinelConnectionPool):
    """Django's RedisCache `pool_class` for a `redis+sentinel://` LOCATION."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SentinelPool:
        target = parse(url)
        sentinel = redis.sentinel.Sentinel(list(target.sentinels), sentinel_kwargs=_sentinel_options(options))
        return cls(target.master_name, sentinel, db=target.db, password=target.password, **options)


def _sentinel_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k.startswith("socket_")}


# -- parsing ---------------------------------------------------------------------------------
def _fail(name: str, url: str, why: str) -> ImproperlyConfigured:
    shown = _hide_password(url)
    return ImproperlyConfigured(f"{name}={shown!r}: {why}. Expected for example {EXAMPLES}")


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    auth, _, hosts = rest.partition("@")
    user = auth.split(":", 1)[0] if ":" in auth else ""
    return f"{scheme}://{user}:***@{hosts}"


def _port(name: str, url: str, text: str, default: int) -> int:
    if text == "":
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise _fail(name, url, f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def _db(name: str, url: str, text: str) -> int:
    if not text.isdigit():
        raise _fail(name, url, f"database {text!r} is not a number")
    return int(text)


def _sentinel_host(name: str, url: str, item: str) -> tuple[str, int]:
    if item.startswith("["):  # [::1]:26379
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    else:
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    if not host:
        raise _fail(name, url, f"Sentinel address {item!r} has no host")
    return host, _port(name, url, port, DEFAULT_SENTINEL_PORT)


def _parse_sentinel(name: str, url: str) -> RedisTarget:
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    if "?" in rest or "#" in rest:
        raise _fail(name, url, "a Sentinel URL takes no query string or fragment")
    netloc, _, path = rest.partition("/")
    auth, at, hosts = netloc.rpartition("@")
    password = None
    if at:
        user, _, secret = auth.partition(":")
        if user or not secret:
            raise _fail(name, url, "a Sentinel URL takes a password only, as ':password@'")
        password = unquote(secret)
    items = [item.strip() for item in hosts.split(",")]
    if not hosts or not all(items):
        raise _fail(name, url, "a Sentinel URL needs at least one host:port")
    sentinels = tuple(_sentinel_host(name, url, item) for item in items)
    segments = path.split("/") if path else []
    if segments and segments[-1] == "":
        segments.pop()  # a trailing slash
    if not segments or not segments[0]:
        raise _fail(name, url, "a Sentinel URL needs the master's name after the hosts: /<master_name>[/<db>]")
    if len(segments) > 2:
        raise _fail(name, url, "a Sentinel URL's path is /<master_name>[/<db>]")
    db = _db(name, url, segments[1]) if len(segments) == 2 else 0
    return RedisTarget(url=url, sentinels=sentinels, master_name=unquote(segments[0]), db=db, password=password)


def parse(url: str, name: str = "REDIS_URL") -> RedisTarget:
    """Read one Redis URL; raises ImproperlyConfigured saying what is wrong, with an example."""
    url = url.strip()
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise _fail(name, url, f"the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    if scheme == SENTINEL_SCHEME:
        return _parse_sentinel(name, url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  raises ValueError for a port that is not a number
    except ValueError as exc:
        raise _fail(name, url, str(exc)) from exc
    if scheme == "unix":
        if not parts.path:
            raise _fail(name, url, "a unix:// URL needs the socket's path")
    elif not parts.hostname:
        raise _fail(name, url, "the URL has no host")
    try:
        # What redis-py will make of it (the database, query options): fail now, not later.
        kwargs = redis.connection.parse_url(url)
    except ValueError as exc:
        raise _fail(name, url, str(exc)) from exc
    path = parts.path.strip("/")
    if scheme != "unix" and path and not path.isdigit():
        raise _fail(name, url, f"database {path!r} is not a number")
    return RedisTarget(url=url, db=int(kwargs.get("db") or 0), password=kwargs.get("password"))


def parse_list(value: str, name: str = "REALTIME_REDIS_URLS") -> list[RedisTarget]:
    """Comma-separated URLs (a Sentinel URL's own commas between its hosts are kept)."""
    urls: list[str] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if "://" in item or not urls:
            urls.append(item)
        else:
            urls[-1] += "," + item  # the next Sentinel host of the URL before
    targets = [parse(url, name) for url in urls]
    if not targets:
        raise ImproperlyConfigured(f"{name} lists no Redis URL. Expected for example {EXAMPLES}")
    seen = [t.url for t in targets]
    repeated = sorted({_hide_password(u) for u in seen if seen.count(u) > 1})
    if repeated:
        raise ImproperlyConfigured(f"{name} lists the same Redis twice: {', '.join(repeated)}")
    return targets


def layer_alias(index: int) -> str:
    """The CHANNEL_LAYERS alias of the channel layer of the `index`-th Redis."""
    return "default" if index == 0 else f"shard{index}"


def realtime_targets() -> list[RedisTarget]:
    """The Redis servers the streams are spread over (REALTIME_REDIS_URLS, else REDIS_URL)."""
    from .conf import realtime_settings

    return [parse(url, "REALTIME_REDIS_URLS") for url in realtime_settings.redis_urls]


def shard_for(stream: str, count: int) -> int:
    """The index, among `count` Redis servers, of the one holding `stream`: channels-redis's
    own hash (CRC32 of the name onto a ring of 4096 points), stable across processes and
    restarts as long as every process lists the same URLs in the same order."""
    return int(_consistent_hash(stream, count))
