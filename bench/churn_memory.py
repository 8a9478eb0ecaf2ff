"""Server memory over many connect/disconnect cycles, with long-lived sockets open meanwhile.

    .venv/bin/python bench/churn_memory.py                      # 10,000 cycles beside 2000 open sockets
    .venv/bin/python bench/churn_memory.py --cycles 10000 --open 2000 --lanes 20

The product under one Daphne process with a private Redis, as the `syncline` target sets it
up (bench/targets/syncline.py). First `--open` sockets connect to the demo unit's request
stream and stay (the long-lived connections the server freezes out of the garbage
collector's walks, apps/realtime/daphne.py `Collector`); then `--lanes` clients in parallel
open a socket on the same stream, wait for its first message, and close it, `--cycles` times
in all. The server's RSS and the open sockets are printed every `--every` cycles, and once
more after a pause of `--settle` s at the end (a Markdown table on stdout): RSS that comes
back to a plateau means the garbage of the closed connections is collected, one that climbs
by a connection's worth per cycle means it is not.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets
from httpclient import HttpClient
from targets.syncline import SynclineTarget


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def open_and_wait(url: str) -> Any:
    socket = await websockets.connect(url, open_timeout=30, max_size=None)
    await asyncio.wait_for(socket.recv(), 30)
    return socket


async def main_async(args: Any) -> None:
    target = SynclineTarget(Path(tempfile.mkdtemp(prefix="syncline-churn-memory-")))
    target.prepare()
    target.start()
    try:
        async with HttpClient() as http:
            await target.authenticate(http)
        url = target.stream_url("ws", 0)
        held = []
        for start in range(0, args.open, 100):
            held += await asyncio.gather(*(open_and_wait(url) for _ in range(start, min(start + 100, args.open))))
        rows = [(0, rss_mib(target.pid), time.monotonic())]
        done = 0

        async def lane() -> None:
            nonlocal done
            while done < args.cycles:
                done += 1
                cycle = done
                socket = await open_and_wait(url)
                await socket.close()
                if cycle % args.every == 0:
                    rows.append((cycle, rss_mib(target.pid), time.monotonic()))

        await asyncio.gather(*(lane() for _ in range(args.lanes)))
        await asyncio.sleep(args.settle)
        rows.append((done, rss_mib(target.pid), time.monotonic()))
        for socket in held:
            await socket.close()
    finally:
        target.cleanup()
    started = rows[0][2]
    print(f"{args.cycles} cycles beside {args.open} open sockets, {args.lanes} lanes\n")
    print("| cycles | server RSS MiB | change since the first cycle | seconds |")
    print("|---|---|---|---|")
    for cycles, rss, at in rows:
        print(f"| {cycles:,} | {rss:.1f} | {rss - rows[0][1]:+.1f} | {at - started:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=2000, help="sockets that stay open meanwhile")
    parser.add_argument("--lanes", type=int, default=20, help="clients cycling in parallel")
    parser.add_argument("--every", type=int, default=1000, help="cycles between two RSS samples")
    parser.add_argument("--settle", type=float, default=12.0, help="seconds before the last sample")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
