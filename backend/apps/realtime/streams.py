"""
The stream registry. A stream is a named sequence of events; its name is also its
channel-layer group. Each stream is declared once, in its app's `streams.py`:

    unit_requests = register(Stream(
        "requests.unit.{unit_id:int}",
        route="requests/{unit_id}/",
        can_read=selectors.user_is_unit_member,
        events=("request.updated",),
    ))

and publishers build names with `unit_requests.name(unit_id=unit.id)`. The generic
consumer, the multiplexed socket and the SSE view all resolve names through here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# name-pattern converters: regex and the Python value a permission function receives
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "int": (r"[0-9]{1,18}", int),
    "uuid": (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", lambda v: str(uuid.UUID(v))),
}
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
# Channels' own rule for group names (channels.layers.BaseChannelLayer).
GROUP_NAME = re.compile(r"^[a-zA-Z\d\-_.]{1,99}$")


class StreamParamError(ValueError):
    """A path or name value that does not fit the stream's pattern (close 4400)."""


Permission = Callable[..., bool]


def anyone_signed_in(user: Any, **params: Any) -> bool:
    return bool(user.is_authenticated)


@dataclass(frozen=True)
class Stream:
    """
    One declared stream.

    - `pattern`: the name, with `{param:converter}` placeholders (`int`, `uuid`).
    - `route`: the WebSocket path under `/ws/`, with `{param}` placeholders; None for
      streams only reachable through the multiplexed `/ws/`.
    - `can_read(user, **params) -> bool`: runs in a thread, may query the database.
    - `events`: the event types published to it (documentation and client types).
    - `sse_alias`: another accepted SSE channel name (`progress-{job_id:uuid}`).
    - `replay_latest`: a subscriber without `last_event_id` first gets the stream's latest
      event (the current state of a job, say), so a late subscriber misses nothing.
    - `presence`: subscribers are told who else is subscribed (presence.py).
    """

    pattern: str
    route: str | None = None
    can_read: Permission = anyone_signed_in
    events: tuple[str, ...] = ()
    sse_alias: str | None = None
    replay_latest: bool = False
    presence: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _alias_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _types: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        types = {m.group(1): m.group(2) or "int" for m in _PLACEHOLDER.finditer(self.pattern)}
        object.__setattr__(self, "_types", types)
        object.__setattr__(self, "_regex", _compile(self.pattern))
        object.__setattr__(self, "_alias_regex", _compile(self.sse_alias) if self.sse_alias else None)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(self._types)

    def name(self, **params: Any) -> str:
        """The stream name for these parameters: `unit_requests.name(unit_id=1)`."""
        return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), self.pattern)

    def convert(self, raw: dict[str, str]) -> dict[str, Any]:
        """Validate raw path values; raises StreamParamError (4400) on a malformed one."""
        values: dict[str, Any] = {}
        for key, kind in self._types.items():
            regex, cast = _CONVERTERS[kind]
            value = raw.get(key, "")
            if not re.fullmatch(regex, value):
                raise StreamParamError(f"{key} must be {'an integer' if kind == 'int' else 'a UUID'}")
            values[key] = cast(value)
        return values

    def match(self, name: str) -> dict[str, Any] | None:
        for regex in (self._regex, self._alias_regex):
            if regex is not None and (found := regex.fullmatch(name)):
                return self.convert(found.groupdict())
        return None


def _compile(pattern: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{_CONVERTERS[m.group(2) or 'int'][0]})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out))


Targets = list[tuple[Stream, dict[str, Any]]]


@dataclass(frozen=True)
class Route:
    """
    A WebSocket path under `/ws/` and the streams a socket on it reads: `targets(user,
    raw_path_values)` returns (stream, params) pairs; it raises StreamParamError (4400) for a
    malformed value. Each stream with a `route` gets one; `register_route` adds routes that
    read several streams (`/ws/notifications/`: the user's own stream and the broadcasts).
    """

    path: str
    targets: Callable[[Any, dict[str, str]], Targets]


_registry: list[Stream] = []
_routes: list[Route] = []


def register(stream: Stream) -> Stream:
    if any(s.pattern == stream.pattern for s in _registry):
        raise ValueError(f"stream {stream.pattern!r} is declared twice")
    _registry.append(stream)
    if stream.route:
        register_route(Route(stream.route, lambda user, raw: [(stream, stream.convert(raw))]))
    return stream


def register_route(route: Route) -> Route:
    if any(r.path == route.path for r in _routes):
        raise ValueError(f"route {route.path!r} is declared twice")
    _routes.append(route)
    return route


def all_streams() -> tuple[Stream, ...]:
    return tuple(_registry)


def all_routes() -> tuple[Route, ...]:
    return tuple(_routes)


def resolve(name: str) -> tuple[Stream, dict[str, Any]] | None:
    """The declared stream a name belongs to, with its parameters, or None (4404)."""
    if not GROUP_NAME.match(name):
        return None
    for stream in _registry:
        params = stream.match(name)
        if params is not None:
            return stream, params
    return None


def canonical(name: str) -> str | None:
    """The stream name for a name or SSE alias (`progress-<id>` -> `progress.job.<id>`)."""
    found = resolve(name)
    return found[0].name(**found[1]) if found else None
