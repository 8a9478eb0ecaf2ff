"""A lean HTTP/1.1 keep-alive client for the driver's POSTs (asyncio streams, no parsing layers).

A general-purpose client costs over a millisecond per request on a busy two-core machine,
and that cost lands in every latency, since `t0` is taken just before the request. This one
writes a request and reads a `Content-Length` or chunked response in about 0.1 ms. It keeps
idle connections per host for reuse and retries once on a fresh connection when a reused one
turns out to be closed before any byte of the response arrived.
"""

import asyncio
import json as jsonlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """The request got no complete response (connection refused, reset, timeout, bad framing)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Response:
    """Status, headers (lower-case names) and body of one response."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.content)


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpClient:
    """Keep-alive connections to 127.0.0.1 servers; `post` and `get` with JSON bodies."""

    def __init__(self, timeout_s: float = 10.0, max_idle_per_host: int = 32) -> None:
        self.timeout_s = timeout_s
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], list[Stream]] = {}

    async def __aenter__(self) -> "HttpClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Response:
        """POST `json` (encoded) to `url`."""
        return await self.request("POST", url, json=json, headers=headers)

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> Response:
        """GET `url`."""
        return await self.request("GET", url, headers=headers)

    async def request(
        self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        """Send one request and read its response, on an idle connection when there is one."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        data = _encode(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), f"{host}:{port}", json, headers or {}
        )
        pool = self._idle.setdefault((host, port), [])
        for attempt in range(2):
            reused = bool(pool) and attempt == 0
            stream = pool.pop() if reused else await self._open(host, port)
            try:
                async with asyncio.timeout(self.timeout_s):
                    response = await _exchange(stream, data)
            except asyncio.IncompleteReadError as exc:
                stream[1].close()
                if reused and not exc.partial:
                    continue  # the server had closed the idle connection: retry on a new one
                raise HttpError(f"{method} {url}", "connection closed mid-response") from exc
            except (OSError, TimeoutError, ValueError, asyncio.LimitOverrunError) as exc:
                stream[1].close()
                raise HttpError(f"{method} {url}", type(exc).__name__) from exc
            except asyncio.CancelledError:
                stream[1].close()  # mid-exchange: the connection cannot be reused
                raise
            if response.headers.get("connection", "").lower() == "close" or len(pool) >= self.max_idle_per_host:
                stream[1].close()
            else:
                pool.append(stream)
            return response
        raise HttpError(f"{method} {url}", "no response")

    async def _open(self, host: str, port: int) -> Stream:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await asyncio.open_connection(host, port, limit=MAX_HEAD)
        except (OSError, TimeoutError) as exc:
            raise HttpError(f"connect {host}:{port}", type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Close every idle connection."""
        for pool in self._idle.values():
            for _, writer in pool:
                writer.close()
        self._idle.clear()


def _encode(method: str, target: str, host: str, json: Any, headers: dict[str, str]) -> bytes:
    body = jsonlib.dumps(json).encode() if json is not None else b""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Accept: application/json"]
    if json is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(stream: Stream, data: bytes) -> Response:
    reader, writer = stream
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()
        headers["connection"] = "close"
    return Response(status, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected
            return b"".join(chunks)
        chunks.append((await reader.readexactly(size + 2))[:-2])
