"""Hand-written publisher: the least an event can cost, to compare `publish_on_commit` with.

One ASGI endpoint, `POST /publish/<group>` (body: the event's JSON), doing exactly this per
event: INSERT a row (the event) and commit, `XADD raw.<group>` (a history entry, capped like a
stream history), `PUBLISH bare.<group>` (the live delivery, which the `bare-prod` processes
fan out to their sockets). 202 `{"id": <stream id>}`. `GET /healthz`: 200.

Environment: `RAW_REDIS_URL` (required), `RAW_DATABASE_URL` (`sqlite:///path` or a
`postgres://` URL; the table `raw_event` is created when missing).

Run: `RAW_REDIS_URL=redis://... RAW_DATABASE_URL=sqlite:////tmp/raw.sqlite3
uvicorn raw_publisher:app --app-dir bench/baselines --port 8002`.
"""

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

Message = dict[str, Any]
HISTORY_MAXLEN = 1000
CREATE = "CREATE TABLE IF NOT EXISTS raw_event (id {pk}, stream TEXT NOT NULL, body TEXT NOT NULL)"


class Database:
    """One connection, used from one thread at a time (the INSERT runs off the event loop)."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite://"), check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(CREATE.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT"))
            self.placeholder = "?"
        elif url.startswith(("postgres://", "postgresql://")):
            import psycopg

            self.conn = psycopg.connect(url)
            self.conn.execute(CREATE.format(pk="BIGSERIAL PRIMARY KEY"))
            self.placeholder = "%s"
        else:
            raise SystemExit(f"RAW_DATABASE_URL must be sqlite:///path or postgres://..., got {url!r}")
        self.conn.commit()
        self.lock = asyncio.Lock()

    def insert(self, stream: str, body: str) -> None:
        p = self.placeholder
        self.conn.execute(f"INSERT INTO raw_event (stream, body) VALUES ({p}, {p})", (stream, body))
        self.conn.commit()


_state: dict[str, Any] = {}


async def app(scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]):
    """`POST /publish/<group>` and `GET /healthz`; the rest is 404."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _state["redis"] = aioredis.Redis.from_url(os.environ["RAW_REDIS_URL"])
                _state["db"] = Database(os.environ["RAW_DATABASE_URL"])
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _state["redis"].aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/healthz":
        status, reply = 200, b"ok"
    elif path.startswith("/publish/") and scope["method"] == "POST":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        group = path.rstrip("/").rsplit("/", 1)[-1]
        db: Database = _state["db"]
        async with db.lock:
            await asyncio.to_thread(db.insert, f"raw.{group}", body.decode())
        client: aioredis.Redis = _state["redis"]
        entry = await client.xadd(f"raw.{group}", {"e": body}, maxlen=HISTORY_MAXLEN, approximate=True)
        await client.publish(f"bare.{group}", body)
        status, reply = 202, b'{"id": "' + entry + b'"}'
    else:
        status, reply = 404, b"not found"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(reply)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": reply})
