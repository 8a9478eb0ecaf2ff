"""
The real-time layer's settings, read through one object, in the manner of DRF's
`api_settings`:

    # settings.py: only what differs from the defaults below
    REALTIME = {"HISTORY_SIZE": 5000, "PRESENCE_GRACE": 2}

    from apps.realtime.conf import realtime_settings

    realtime_settings.HISTORY_SIZE   # 5000
    realtime_settings.mode           # "embedded" or "redis"

Every key has its default and one line on what it does in DEFAULTS; `docs/settings.md`
lists them. Each may come from the environment as `REALTIME_<KEY>`
(`from_environment()`, which config/settings uses). The Redis topology stays in the
settings the deployment sets (`REDIS_URL`, `REDIS_PREFIX`, `CHANNEL_LAYER`,
`REALTIME_REDIS_URLS`) and is read here too.

The object reloads when `REALTIME` or one of those settings changes (Django's
`setting_changed`, which `settings` overrides in tests send), and the history, transport
and presence backends made from the old values are dropped with it: tests change a
setting and need no reset helper. A value the layer cannot use raises
`ImproperlyConfigured` when read; `manage.py check` reports every one at once
(apps/realtime/checks.py), and the ASGI application runs those checks at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Events kept per stream for resume (Redis XADD MAXLEN ~ keeps at least this many).
    "HISTORY_SIZE": 1000,
    # Frames queued for one socket or SSE response before it is closed 4408 (too slow).
    "OUTBOUND_QUEUE": 1000,
    # Inbound frames per socket per second, and the burst, before 4429.
    "INBOUND_RATE": 20,
    "INBOUND_BURST": 60,
    # Largest inbound frame in bytes; a larger one closes the socket 1009.
    "MAX_FRAME": 64 * 1024,
    # Sockets and SSE responses one user may hold open in one server process before 4429.
    "MAX_SOCKETS_PER_USER": 50,
    # Client messages per socket per second (burst as many) before `rate_limited` replies.
    "MESSAGE_RATE": 5,
    # Streams one multiplexed socket (or SSE response) may subscribe to.
    "MAX_STREAMS_PER_SOCKET": 100,
    # Lifetime of a one-time WebSocket ticket, seconds (1 to 30).
    "TICKET_TTL": 30,
    # Seconds between the relay's checks of the outbox for events the commit could not publish; 0: no relay.
    "OUTBOX_RELAY_INTERVAL": 1.0,
    # Seconds between reconciles of every stream a process serves with its history (Redis modes); 0: off.
    "RECONCILE_INTERVAL": 5.0,
    # Seconds between reports of a process's figures to the operations page (/ops/); 0: no reporter.
    "OPS_REPORT_INTERVAL": 2.0,
    # Replicas each history append waits for (Redis WAIT), so an acknowledged event survives a failover; 0: none.
    "REDIS_WAIT_REPLICAS": 0,
    # Seconds a user's last closed connection still counts as present, so a page reload does not flap (0 to 8).
    "PRESENCE_GRACE": 5,
    # Seconds a presence connection lives in Redis untouched (its process touches it every third; at least 3).
    "PRESENCE_EXPIRY": 30,
    # Seconds between sweeps for the expired presence connections of dead processes (at least 1).
    "PRESENCE_SWEEP_INTERVAL": 10,
    # Members listed per stream; past it presence.state gives counts only and joins/leaves stop.
    "PRESENCE_MAX_MEMBERS": 500,
    # Seconds between `: keep-alive` comment lines on an idle SSE response (proxies drop idle ones).
    "SSE_KEEPALIVE": 10,
    # Dotted paths of the backends; "" chooses by mode (BACKENDS). Each class has `from_settings(conf)`.
    "HISTORY_BACKEND": "",
    "TRANSPORT_BACKEND": "",
    "PRESENCE_BACKEND": "",
}

# The backend of each kind when its setting is "", by mode.
BACKENDS: dict[str, dict[str, str]] = {
    "HISTORY_BACKEND": {
        "embedded": "apps.realtime.history.MemoryHistory",
        "redis": "apps.realtime.history.RedisHistory",
    },
    "TRANSPORT_BACKEND": {
        "embedded": "apps.realtime.transport.LocalTransport",
        "redis": "apps.realtime.transport.LayerTransport",
    },
    "PRESENCE_BACKEND": {
        "embedded": "apps.realtime.presence.MemoryPresence",
        "redis": "apps.realtime.presence.RedisPresence",
    },
}

# Older environment names, still read (the REALTIME_ name wins when both are set).
ENV_ALIASES = {"TICKET_TTL": "WS_TICKET_TTL", "SSE_KEEPALIVE": "SSE_KEEPALIVE_SECONDS"}

CHANNEL_LAYERS_MODES: tuple[str, ...] = ("memory", "redis", "pubsub")
# CHANNEL_LAYER when REDIS_URL is set and CHANNEL_LAYER is not. RedisPubSubChannelLayer: Redis
# pushes each message to the process as it is published. RedisChannelLayer's receive takes four
# round trips in turn per message (a cleanup script, BZPOPMIN, a backup ZADD, its ZPOPMIN), so a
# busy process reads about a hundred messages a second (docs/performance.md). A message either
# layer loses (a cut connection, a full channel) the hub fills from the history or announces.
DEFAULT_LAYER_WITH_REDIS = "pubsub"

# The Django settings besides REALTIME that this object reads.
TOPOLOGY_SETTINGS = ("REDIS_URL", "REDIS_PREFIX", "CHANNEL_LAYER", "REALTIME_REDIS_URLS", "CHANNEL_LAYERS")


def _at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low:g}"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be {low:g} to {high:g}"


RULES: dict[str, Callable[[Any], str | None]] = {
    "HISTORY_SIZE": _at_least(1),
    "OUTBOUND_QUEUE": _at_least(1),
    "INBOUND_RATE": _at_least(1),
    "INBOUND_BURST": _at_least(1),
    "MAX_FRAME": _at_least(1024),
    "MAX_SOCKETS_PER_USER": _at_least(1),
    "MESSAGE_RATE": _at_least(1),
    "MAX_STREAMS_PER_SOCKET": _at_least(1),
    "TICKET_TTL": _between(1, 30),
    "OUTBOX_RELAY_INTERVAL": _at_least(0),
    "RECONCILE_INTERVAL": _at_least(0),
    "OPS_REPORT_INTERVAL": _at_least(0),
    "REDIS_WAIT_REPLICAS": _at_least(0),
    "PRESENCE_GRACE": _between(0, 8),
    "PRESENCE_EXPIRY": _at_least(3),
    "PRESENCE_SWEEP_INTERVAL": _at_least(1),
    "PRESENCE_MAX_MEMBERS": _at_least(1),
    "SSE_KEEPALIVE": _at_least(1),
}


def problems(values: Mapping[str, Any]) -> list[str]:
    """What is wrong with these REALTIME values (merged over DEFAULTS), one line each."""
    merged = {**DEFAULTS, **values}
    found: list[str] = []
    for key, default in DEFAULTS.items():
        value = merged[key]
        kind = type(default)
        accepted: tuple[type, ...] = (int, float) if kind is float else (kind,)
        if isinstance(value, bool) or not isinstance(value, accepted):
            found.append(f"REALTIME['{key}'] must be {kind.__name__}, got {value!r}")
            continue
        rule = RULES.get(key)
        message = rule(value) if rule else None
        if message:
            found.append(f"REALTIME['{key}'] {message}, got {value!r}")
    if not found and merged["PRESENCE_EXPIRY"] + merged["PRESENCE_SWEEP_INTERVAL"] > 55:
        found.append(
            "REALTIME['PRESENCE_EXPIRY'] + REALTIME['PRESENCE_SWEEP_INTERVAL'] must be at most 55 seconds, got "
            f"{merged['PRESENCE_EXPIRY'] + merged['PRESENCE_SWEEP_INTERVAL']}: the members of a dead process leave "
            "within 60 s"
        )
    return found


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The REALTIME values set in the environment as REALTIME_<KEY> (or an older alias),
    converted to the type of their default. A value that does not convert is an error
    that names the variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        name = f"REALTIME_{key}"
        raw = environ.get(name) or ""
        if not raw and key in ENV_ALIASES:
            name = ENV_ALIASES[key]
            raw = environ.get(name) or ""
        if not raw:
            continue
        kind = type(default)
        try:
            values[key] = kind(raw)
        except ValueError as exc:
            what = {int: "an integer", float: "a number"}.get(kind, "a string")
            raise ImproperlyConfigured(f"{name} must be {what}, got {raw!r}") from exc
    return values


class RealtimeSettings:
    """`REALTIME` over DEFAULTS, and the mode (see the module docstring)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._classes: dict[str, type] = {}
        self._reload_hooks: list[Callable[[], None]] = []

    def _load(self) -> dict[str, Any]:
        user = getattr(settings, "REALTIME", None) or {}
        if not isinstance(user, Mapping):
            raise ImproperlyConfigured(f"REALTIME must be a dict, got {type(user).__name__}")
        errors = problems(user)
        if errors:
            raise ImproperlyConfigured("; ".join(errors))
        return {**DEFAULTS, **{k: v for k, v in user.items() if k in DEFAULTS}}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"{name!r} is not a real-time setting (apps/realtime/conf.py DEFAULTS)")
        values = self._values
        if values is None:
            values = self._values = self._load()
        value = values[name]
        setattr(self, name, value)  # read as a plain attribute from now on, until a reload
        return value

    # -- the topology -----------------------------------------------------------------------
    @property
    def channel_layer(self) -> str:
        """`memory`, `redis` or `pubsub` (the CHANNEL_LAYER setting)."""
        default = DEFAULT_LAYER_WITH_REDIS if self.redis_url else "memory"
        layer = str(getattr(settings, "CHANNEL_LAYER", "") or default)
        if layer not in CHANNEL_LAYERS_MODES:
            raise ImproperlyConfigured(f"CHANNEL_LAYER must be memory, redis or pubsub, got {layer!r}")
        return layer

    @property
    def redis_url(self) -> str:
        return str(getattr(settings, "REDIS_URL", "") or "")

    @property
    def redis_prefix(self) -> str:
        return str(getattr(settings, "REDIS_PREFIX", "") or "syncline")

    @property
    def redis_urls(self) -> list[str]:
        """The Redis servers streams are spread over (REALTIME_REDIS_URLS, else REDIS_URL)."""
        urls = list(getattr(settings, "REALTIME_REDIS_URLS", None) or [])
        return urls or ([self.redis_url] if self.redis_url else [])

    @property
    def mode(self) -> str:
        """`redis` when history, presence and fan-out go through Redis, else `embedded`
        (one process; REDIS_URL unset, or CHANNEL_LAYER=memory)."""
        return "redis" if self.redis_url and self.channel_layer != "memory" else "embedded"

    # -- backends ---------------------------------------------------------------------------
    def backend_path(self, kind: str) -> str:
        """The dotted path of a backend (`HISTORY_BACKEND`, ...): the setting, or the mode's."""
        return str(getattr(self, kind)) or BACKENDS[kind][self.mode]

    def backend_class(self, kind: str) -> type:
        cls = self._classes.get(kind)
        if cls is None:
            path = self.backend_path(kind)
            try:
                cls = import_string(path)
            except ImportError as exc:
                raise ImproperlyConfigured(f"REALTIME['{kind}'] = {path!r} cannot be imported: {exc}") from exc
            if not isinstance(cls, type) or not callable(getattr(cls, "from_settings", None)):
                raise ImproperlyConfigured(f"REALTIME['{kind}'] = {path!r} is not a class with from_settings(conf)")
            self._classes[kind] = cls
        return cls

    def make_backend(self, kind: str) -> Any:
        cls: Any = self.backend_class(kind)
        return cls.from_settings(self)

    # -- reload -----------------------------------------------------------------------------
    def on_reload(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever the settings reload (a backend singleton forgets itself)."""
        self._reload_hooks.append(hook)

    def reload(self) -> None:
        for key in DEFAULTS:
            self.__dict__.pop(key, None)
        self._values = None
        self._classes.clear()
        for hook in self._reload_hooks:
            hook()


realtime_settings = RealtimeSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "REALTIME" or setting in TOPOLOGY_SETTINGS:
        realtime_settings.reload()


setting_changed.connect(_reload)
