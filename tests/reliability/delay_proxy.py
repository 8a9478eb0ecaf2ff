"""
A TCP proxy that adds a fixed delay each way, in order, to every connection: the latency of
a link between two test hosts (tests/reliability/netns.py). The kernels of some machines
have no `sch_netem`, so `tc netem` is not there to do it.

    python delay_proxy.py LISTEN_HOST:PORT UPSTREAM_HOST:PORT DELAY_MS
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy `reader` to `writer`, each chunk `delay` seconds after it arrived."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, data))
    finally:
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(Exception):
            await sender
        writer.close()


async def main(listen: str, upstream: str, delay_ms: float) -> None:
    listen_host, listen_port = listen.rsplit(":", 1)
    up_host, up_port = upstream.rsplit(":", 1)
    delay = delay_ms / 1000

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(up_host, int(up_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pump(client_reader, up_writer, delay), _pump(up_reader, client_writer, delay), return_exceptions=True
        )

    server = await asyncio.start_server(handle, listen_host, int(listen_port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
