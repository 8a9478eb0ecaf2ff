"""
The production Daphne launcher behind run_asgi.sh: Daphne's own command line, plus

- the protocol's 64 KiB frame limit (docs/protocol.md section 3), closing with 1009 (not a bare TCP drop);
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
import gc
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.server import Server  # installs Twisted's asyncio reactor: import it before the reactor
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer
from twisted.internet import reactor as twisted_reactor

from config.logging import log_access

# Seconds a stopping process waits for clients to answer its close frames.
CLOSE_GRACE = 2.0
# A worker process that dies is started again after this pause (not during a stop).
RESPAWN_DELAY = 1.0
SERVICE_RESTART = 1012
# Twisted types its reactor with zope interfaces, whose methods mypy reads without `self`.
reactor: Any = twisted_reactor


def _launcher_options(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="config.serve", add_help=False)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--unix", default="")
    parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # set for worker processes
    return parser.parse_known_args(argv)


class GracefulServer(Server):
    """Daphne's server with the access log through logging and a graceful stop."""

    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        # Daphne builds an action logger when its access log is on (verbosity >= 1 or
        # --access-log); ours replaces it, wherever Daphne meant to write.
        super().__init__(*args, action_logger=log_access if action_logger else None, **kwargs)
        self.ports: list[Any] = []
        # The application is loaded: move what exists now (Django, the apps, the libraries)
        # out of the cyclic garbage collector's sight, so that a full collection walks only
        # what was made since (sockets, requests). With 1000 sockets open, full collections
        # otherwise stalled the event loop for 80-170 ms (gc.callbacks timings,
        # docs/performance.md).
        gc.collect()
        gc.freeze()
        # Registered before Daphne's own shutdown trigger (which cancels the applications),
        # so the close frames go out first.
        reactor.addSystemEventTrigger("before", "shutdown", self.close_websockets)

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def open_websockets(self) -> list[WebSocketProtocol]:
        return [
            protocol
            for protocol, details in self.connections.items()
            if isinstance(protocol, WebSocketProtocol) and "disconnected" not in details
        ]

    def close_websockets(self) -> defer.Deferred[None]:
        for port in self.ports:
            port.stopListening()
        for protocol in self.open_websockets():
            if protocol.state == protocol.STATE_OPEN:
                # sendClose() only takes 1000 and 3000-4999; 1012 is the registered
                # "service restart" code, which clients treat as "reconnect now".
                protocol.sendCloseFrame(code=SERVICE_RESTART, reasonUtf8=b"server restart")
        drained: defer.Deferred[None] = defer.Deferred()
        deadline = time.monotonic() + CLOSE_GRACE

        def check() -> None:
            if not self.open_websockets() or time.monotonic() >= deadline:
                drained.callback(None)
            else:
                reactor.callLater(0.05, check)

        check()
        return drained


class _WebSocketFactory(WebSocketFactory):
    """Daphne's factory, but a connection failed by the protocol (an oversized frame) gets
    its close frame (1009) before the TCP connection drops, so the client reads the code."""

    def resetProtocolOptions(self) -> None:  # noqa: N802 - autobahn's name
        super().resetProtocolOptions()
        self.failByDrop = False


daphne.server.WebSocketFactory = _WebSocketFactory

# The protocol's frame limit (docs/protocol.md section 3), enforced where frames arrive: autobahn
# closes with 1009 itself (Daphne does not let an application send 1009), before a large frame
# is buffered.
FRAME_LIMIT = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]


class Launcher(CommandLineInterface):
    server_class = GracefulServer

    def run(self, args: Sequence[str]) -> None:
        if not any(arg.startswith("--websocket-max-") for arg in args):
            args = [*FRAME_LIMIT, *args]
        super().run(args)


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
