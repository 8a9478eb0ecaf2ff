"""
Event ids: `<milliseconds>-<sequence>`, strictly increasing within a stream (the format of
Redis stream ids, so the embedded history and the Redis history hand out the same kind).
"""

from __future__ import annotations

import re

# Before every event of a stream: the position of a reader that started when it had none.
START = (0, 0)
_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")


class InvalidEventId(ValueError):
    """A `last_event_id` that is not of the form `<ms>-<seq>`."""


def parse(event_id: str) -> tuple[int, int]:
    match = _ID.match(event_id or "")
    if not match:
        raise InvalidEventId(f"event id must look like 1763762000123-0, got {event_id[:40]!r}")
    return int(match.group(1)), int(match.group(2))


def format_id(ms: int, seq: int) -> str:
    return f"{ms}-{seq}"


def with_id(event_id: str, payload: str) -> str:
    """The frame a client receives: the stored payload (a JSON object) with its id first."""
    return '{"id":"' + event_id + '",' + payload[1:]
