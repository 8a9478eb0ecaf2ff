"""
The production Daphne launcher behind run_asgi.sh: Daphne's own command line with the
server of the real-time layer's Daphne adapter (apps/realtime/daphne.py), which adds

- the contract's 64 KiB frame limit, closing with 1009 (not a bare TCP drop);
- an access log through Python logging (`config.logging.log_access`), without query strings;
- a graceful stop: on SIGTERM the process stops accepting, closes every WebSocket with 1012
  (service restart) so clients reconnect at once, to another process behind the proxy, and
  resume after their last event id; then Daphne cancels what is left and exits;
- `--workers N`: N Daphne processes sharing one listening TCP socket, for hosts that give
  the app one port (WEB_CONCURRENCY on a Procfile host). Each process keeps its own
  metrics; where every process should be scraped, give each a port (deploy/supervisor/).

    python -m config.serve [--workers N] [--bind HOST --port PORT | --unix PATH] [daphne options] APP
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from apps.realtime.daphne import Launcher

# A worker process that dies is started again after this pause (not during a stop).
RESPAWN_DELAY = 1.0


def _launcher_options(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="config.serve", add_help=False)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--unix", default="")
    parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # set for worker processes
    return parser.parse_known_args(argv)


def _listening_socket(host: str, port: int) -> socket.socket:
    if ":" in host.strip("[]"):
        raise SystemExit("--workers > 1 shares an IPv4 socket; for IPv6 or unix sockets run one process per socket")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def run_workers(workers: int, host: str, port: int, daphne_args: list[str]) -> int:
    """Start `workers` Daphne processes on one socket; forward SIGTERM/SIGINT; respawn crashes."""
    sock = _listening_socket(host, port)
    fd = sock.fileno()
    command = [sys.executable, "-m", "config.serve", "--fd", str(fd), *daphne_args]
    stopping = False

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, pass_fds=[fd])

    children = [spawn() for _ in range(workers)]

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping:
                print(f"worker {child.pid} exited with {child.returncode}; starting another", file=sys.stderr)
                time.sleep(RESPAWN_DELAY)
                children[index] = spawn()
                if stopping:  # the stop came while it was starting: `stop` did not see it
                    children[index].send_signal(signal.SIGTERM)
        if stopping and all(child.poll() is not None for child in children):
            return 0
        time.sleep(0.2)


def main(argv: Sequence[str]) -> int:
    options, daphne_args = _launcher_options(argv)
    if options.fd is not None:
        Launcher().run(["-e", f"fd:fileno={options.fd}", *daphne_args])
        return 0
    if options.workers > 1:
        if options.unix:
            raise SystemExit("--workers > 1 needs a TCP port; with unix sockets run one process per socket")
        return run_workers(options.workers, options.bind, options.port, daphne_args)
    bind = ["-u", options.unix] if options.unix else ["-b", options.bind, "-p", str(options.port)]
    Launcher().run([*bind, *daphne_args])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
