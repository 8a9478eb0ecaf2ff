"""
System checks of the real-time layer (`manage.py check`, tag `realtime`): what is wrong in
its settings and declarations, each with a hint. The ASGI application runs them at start-up
(config/asgi.py), so a server that could not work does not start.

| id   | what |
|------|------|
| E001 | a REALTIME value of the wrong type or out of range |
| E002 | a backend's dotted path that does not import, or is not a class with from_settings() |
| E003 | CHANNEL_LAYER not memory, redis or pubsub; or redis/pubsub without REDIS_URL |
| E004 | a Redis URL that cannot be read (a Sentinel URL without a master name, say) |
| E005 | REALTIME_REDIS_URLS without REDIS_URL, or CHANNEL_LAYERS without a layer per Redis |
| E006 | a stream whose can_read does not take (user, **params) with the stream's parameters |
| E007 | a stream that declares an event type with no schema |
| E008 | a public event type no stream declares |
| E009 | a public event type without a description, or whose example fails its schema or reads as another event |
| E010 | a message handler whose function does not take (user, data, **params) |
| E011 | REALTIME is not a dict |
| W001 | a REALTIME key that is not a setting (a typo?) |
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import conf
from .conf import realtime_settings

TAG = "realtime"
HINT_SETTINGS = "Every key, its default and its range: docs/settings.md."


def _id(n: int, level: str = "E") -> str:
    return f"realtime.{level}{n:03d}"


@register(TAG, Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    values = getattr(settings, "REALTIME", None) or {}
    if not isinstance(values, dict):
        return [Error("REALTIME must be a dict", hint=HINT_SETTINGS, id=_id(11))]
    for key in values:
        if key not in conf.DEFAULTS:
            close = difflib.get_close_matches(str(key), conf.DEFAULTS, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            found.append(
                Warning(f"REALTIME[{key!r}] is not a setting; it is ignored", hint=hint + HINT_SETTINGS, id=_id(1, "W"))
            )
    found += [Error(problem, hint=HINT_SETTINGS, id=_id(1)) for problem in conf.problems(values)]
    if not found:
        found += _check_backends()
    found += _check_topology()
    return found


def _check_backends() -> list[CheckMessage]:
    found: list[CheckMessage] = []
    for kind in conf.BACKENDS:
        try:
            realtime_settings.backend_class(kind)
        except ImproperlyConfigured as exc:
            hint = f"Leave it '' for the mode's default ({conf.BACKENDS[kind][realtime_settings.mode]})."
            found.append(Error(str(exc), hint=hint, id=_id(2)))
    return found


def _check_topology() -> list[CheckMessage]:
    from .redis_config import parse

    found: list[CheckMessage] = []
    layer = getattr(settings, "CHANNEL_LAYER", "") or ""
    redis_url = getattr(settings, "REDIS_URL", "") or ""
    if layer and layer not in conf.CHANNEL_LAYERS_MODES:
        found.append(Error(f"CHANNEL_LAYER must be memory, redis or pubsub, got {layer!r}", id=_id(3)))
    elif layer in ("redis", "pubsub") and not redis_url:
        found.append(
            Error(f"CHANNEL_LAYER={layer} needs REDIS_URL", hint="Set REDIS_URL, or unset CHANNEL_LAYER.", id=_id(3))
        )
    urls = list(getattr(settings, "REALTIME_REDIS_URLS", None) or [])
    if urls and not redis_url:
        found.append(
            Error(
                "REALTIME_REDIS_URLS needs REDIS_URL too",
                hint="REDIS_URL is the cache's and Celery's Redis.",
                id=_id(5),
            )
        )
    for name, url in [("REDIS_URL", redis_url), *(("REALTIME_REDIS_URLS", u) for u in urls)]:
        if not url:
            continue
        try:
            parse(url, name)
        except ImproperlyConfigured as exc:
            found.append(Error(str(exc), hint="docs/deployment.md, 'Redis topologies', shows each form.", id=_id(4)))
    if realtime_settings.mode == "redis" and not found:
        layers = getattr(settings, "CHANNEL_LAYERS", {}) or {}
        from .redis_config import layer_alias

        missing = [layer_alias(i) for i in range(len(realtime_settings.redis_urls)) if layer_alias(i) not in layers]
        if missing:
            found.append(
                Error(
                    f"CHANNEL_LAYERS has no layer {', '.join(missing)} for the Redis servers of REALTIME_REDIS_URLS",
                    hint="Build CHANNEL_LAYERS with config.settings.base.channel_layers_for(mode, urls, prefix).",
                    id=_id(5),
                )
            )
    return found


def _takes(func: Callable[..., Any], positional: int, keywords: Iterable[str]) -> bool:
    """Whether `func` can be called with `positional` arguments and these keywords."""
    try:
        inspect.signature(func).bind(*([None] * positional), **dict.fromkeys(keywords))
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): give it the benefit of the doubt
        return True
    return True


@register(TAG)
def check_declarations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .events import EVENT_TYPES, validate
    from .messages import all_handlers
    from .schema_export import example_envelope, public_events
    from .streams import all_streams

    found: list[CheckMessage] = []
    streams = all_streams()
    for stream in streams:
        if not _takes(stream.can_read, 1, stream.params):
            found.append(
                Error(
                    f"stream {stream.pattern!r}: can_read {getattr(stream.can_read, '__qualname__', stream.can_read)} "
                    f"cannot be called as can_read(user, {', '.join(f'{p}=...' for p in stream.params)})",
                    hint="can_read(user, **params) -> bool, with a keyword for each {param} of the pattern.",
                    obj=stream.pattern,
                    id=_id(6),
                )
            )
        for event_type in stream.events:
            if event_type not in EVENT_TYPES:
                found.append(
                    Error(
                        f"stream {stream.pattern!r} declares event {event_type!r}, which has no schema",
                        hint="Declare it with @register_event in the app's events.py, or drop it from events=.",
                        obj=stream.pattern,
                        id=_id(7),
                    )
                )
    for cls in public_events():
        if not any(cls.type in s.events for s in streams):
            found.append(
                Error(
                    f"event {cls.type!r} is published to no declared stream",
                    hint="Name it in the events=(...) of the streams it is published to.",
                    obj=cls,
                    id=_id(8),
                )
            )
        if not cls.description:
            found.append(
                Error(
                    f"event {cls.type!r} has no description", hint="docs/events.md is made from it.", obj=cls, id=_id(9)
                )
            )
        try:
            read_as = validate(example_envelope(cls))
        except Exception as exc:
            found.append(Error(f"event {cls.type!r}: its example fails its schema ({exc})", obj=cls, id=_id(9)))
        else:
            if read_as is not cls:
                message = f"event {cls.type!r}: its example is read as {read_as.__qualname__}"
                found.append(Error(message, obj=cls, id=_id(9)))
    for handler in all_handlers():
        if not _takes(handler.func, 0, ("user", "data", *handler.stream.params)):
            found.append(
                Error(
                    f"message {handler.event!r} on {handler.stream.pattern!r}: {handler.func.__qualname__} cannot be "
                    f"called as f(user=..., data=..., {', '.join(f'{p}=...' for p in handler.stream.params)})",
                    hint="A handler takes the user, the validated data and the stream's parameters as keywords.",
                    obj=handler.func,
                    id=_id(10),
                )
            )
    return found


def raise_on_errors() -> None:
    """Run the real-time checks; raise ImproperlyConfigured listing the errors (start-up)."""
    from django.core import checks

    errors = [m for m in checks.run_checks(tags=[TAG]) if m.is_serious()]
    if errors:
        lines = "\n".join(f"  {m.id}: {m.msg}" + (f" (hint: {m.hint})" if m.hint else "") for m in errors)
        raise ImproperlyConfigured(f"the real-time settings or declarations cannot work:\n{lines}")
