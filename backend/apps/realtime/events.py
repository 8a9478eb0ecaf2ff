"""
Event schemas. Every event type is declared once, as a dataclass in its app's `events.py`:

    @register_event
    @dataclass(kw_only=True)
    class RequestUpdated(Event):
        type: ClassVar[str] = "request.updated"
        entity: ClassVar[str] = "request"
        status: str

The publisher builds the dataclass, `envelope()` turns it into the protocol's envelope
(`type`, `action`, `<entity>_id`, `updated_at`, `updated_by`, `data` and the extra fields),
tests validate every published frame with `validate()`, and docs/events.md and the
TypeScript client types are generated from the same classes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class Event:
    """Base of every event: the envelope fields of docs/protocol.md section 2."""

    type: ClassVar[str]
    entity: ClassVar[str]
    description: ClassVar[str] = ""
    example: ClassVar[dict[str, Any]] = {}

    action: str
    object_id: int | str
    data: dict[str, Any]
    updated_by: str | None = None
    updated_at: str = field(default_factory=now_iso)

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            body[f"{self.entity}_id" if f.name == "object_id" else f.name] = value
        return body


E = TypeVar("E", bound=type[Event])
EVENT_TYPES: dict[str, type[Event]] = {}


def register_event(cls: E) -> E:
    if cls.type in EVENT_TYPES:
        raise ValueError(f"event type {cls.type!r} is declared twice")
    EVENT_TYPES[cls.type] = cls
    return cls


def schema(cls: type[Event]) -> dict[str, tuple[type, ...]]:
    """Envelope key -> accepted Python types, from the dataclass fields."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[type, ...]] = {"type": (str,), "id": (str,), "stream": (str,)}
    for f in dataclasses.fields(cls):
        key = f"{cls.entity}_id" if f.name == "object_id" else f.name
        out[key] = _runtime_types(hints[f.name])
    return out


def _runtime_types(hint: Any) -> tuple[type, ...]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _runtime_types(arg))
    if hint is type(None):
        return (type(None),)
    if hint is float:
        return (float, int)
    base = origin or hint
    return (base,) if isinstance(base, type) else (object,)


class EventSchemaError(ValueError):
    pass


def validate(frame: dict[str, Any]) -> type[Event]:
    """Check a received frame against its declared schema; returns the event class."""
    cls = EVENT_TYPES.get(frame.get("type", ""))
    if cls is None:
        raise EventSchemaError(f"undeclared event type {frame.get('type')!r}")
    expected = schema(cls)
    missing = set(expected) - set(frame)
    extra = set(frame) - set(expected)
    if missing or extra:
        raise EventSchemaError(f"{cls.type}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for key, accepted in expected.items():
        if object not in accepted and not isinstance(frame[key], accepted):
            raise EventSchemaError(f"{cls.type}.{key}: {type(frame[key]).__name__} is not {accepted}")
    return cls
