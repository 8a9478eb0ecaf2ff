"""
A small Server-Sent Events reader for tests: one streamed httpx response, read block by
block (a block ends with a blank line), as a browser's EventSource parses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from apps.realtime.events import validate


@dataclass
class Block:
    """One SSE block: its fields and comment lines, as sent."""

    lines: list[str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        values = self.fields.get("id")
        return values[-1] if values else None

    @property
    def data(self) -> dict[str, Any] | None:
        values = self.fields.get("data")
        return json.loads("\n".join(values)) if values else None


class SseStream:
    """`GET url` as an event stream; `timeout` bounds each wait for data."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
        self.client = httpx.Client(timeout=httpx.Timeout(timeout))
        self._context = self.client.stream("GET", url, headers=headers or {})
        self.response = self._context.__enter__()
        self._lines = self.response.iter_lines()
        self.ended = False

    def block(self) -> Block:
        """The next block; raises httpx.ReadTimeout when none comes in time, EOFError at the end."""
        block = Block(lines=[])
        for line in self._lines:
            if line == "":
                if block.lines:
                    return block
                continue
            block.lines.append(line)
            if line.startswith(":"):
                block.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            block.fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        self.ended = True
        raise EOFError("the server ended the response")

    def message(self) -> tuple[str | None, dict[str, Any]]:
        """The next block with data (skipping comments): (its id line, its JSON). Events are
        validated against their declared schema; every data block must lack an `event:` line."""
        while True:
            block = self.block()
            if block.data is None:
                continue
            assert "event" not in block.fields, block.lines
            data = block.data
            if block.id is not None:
                validate(data)
                assert data["id"] == block.id, "the id line and the envelope's id agree"
            return block.id, data

    def event(self) -> dict[str, Any]:
        """The next event (a data block with an id)."""
        event_id, data = self.message()
        assert event_id is not None, f"expected an event, got {data}"
        return data

    def close(self) -> None:
        self._context.__exit__(None, None, None)
        self.client.close()

    def __enter__(self) -> SseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> SseStream:
    """Open a stream and read its first block, the `: connected` comment sent once the
    response is subscribed: events published after this returns reach it."""
    stream = SseStream(url, headers, timeout)
    assert stream.response.status_code == 200, stream.response.read()
    first = stream.block()
    assert first.comments == ["connected"], first.lines
    return stream


DEMO_PASSWORD = "demo-pass-123"  # seed_demo's


def session_cookie(base: str, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the login page, as a browser does; returns the session id."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        reply = client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        assert reply.status_code == 302, reply.text[:500]
        return str(client.cookies["sessionid"])
