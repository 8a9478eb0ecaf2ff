"""The adapter interface every server under test implements.

A target knows how to prepare itself once (migrations, demo data, its own Redis), start and
stop its server on a free port of 127.0.0.1, authenticate, give the URL of a stream for a
transport (`ws` or `sse`) and group, and create one event whose key is `bench-<key>`.
The harness measures CPU and memory of `pid`'s process tree, and of `aux_pids` (its Redis).
"""

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from httpclient import HttpClient

from targets.procs import ServerProcess, free_port

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
BASELINES_DIR = BENCH_DIR / "baselines"
# The interpreter running the harness is the project's virtualenv; servers come from there too.
VENV_BIN = Path(sys.executable).parent


def event_title(key: int) -> str:
    """The title that carries an event's key; the load client looks for `"bench-<key>"`."""
    return f"bench-{key}"


@dataclass(frozen=True)
class TenantSocket:
    """One socket of a multi-tenant scenario: where it connects, its unit (the group whose events,
    and only those, it must receive) and the streams it subscribes to once open."""

    url: str
    group: int
    subscribe: tuple[str, ...] = ()


class Target(ABC):
    """One server under test."""

    name: ClassVar[str]
    transports: ClassVar[frozenset[str]]
    # How many distinct groups (units, channels) the target can serve to the harness.
    max_groups: ClassVar[int] = 10_000
    health_path: ClassVar[str] = "/healthz"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.server: ServerProcess | None = None

    def prepare(self) -> None:  # noqa: B027 (optional hook)
        """One-time setup before the first start; raise `TargetUnavailableError` to skip the target."""

    @abstractmethod
    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """argv, working directory and environment of a server listening on `self.port`."""

    def start(self) -> None:
        """Start the server on a free port and wait until its health check answers."""
        self.port = free_port()
        argv, cwd, env = self.command()
        self.server = ServerProcess(argv, cwd=cwd, env=env, log=self.workdir / "server.log")
        self.server.wait_http(self.base_url + self.health_path)

    def stop(self) -> None:
        """Stop the server."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def cleanup(self) -> None:
        """Stop everything the target started."""
        self.stop()

    @property
    def pid(self) -> int:
        """The server's process id (the root of the tree whose CPU and RSS are measured)."""
        assert self.server is not None, "the target is not started"
        return self.server.pid

    def server_pids(self) -> list[int]:
        """Roots of the process trees measured as the server (a worker process may be one)."""
        return [self.pid]

    def aux_pids(self) -> list[int]:
        """Helper processes measured separately (a private Redis)."""
        return []

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        """`ws://127.0.0.1:<port>`."""
        return f"ws://127.0.0.1:{self.port}"

    async def authenticate(self, http: HttpClient) -> None:  # noqa: B027 (optional hook)
        """Get whatever credentials `stream_url` and `post_event` need."""

    @abstractmethod
    def stream_url(self, transport: str, group: int) -> str:
        """The URL a client opens to receive the events of `group` over `transport`."""

    @abstractmethod
    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """Create one event titled `bench-<key>` for `group`; return the HTTP status."""

    def publish_counters(self) -> dict[str, int]:
        """Cumulative counters of the target's Redis commands and database work, for costs per event
        (`redis_commands`, and on Postgres `db_transactions`, `db_rows_written`, `db_table_scans`)."""
        return {}

    def configure(self, kind: str) -> None:  # noqa: B027 (optional hook)
        """Called before each start with the kind of the scenario about to run."""

    def prepare_groups(self, groups: int) -> None:  # noqa: B027 (optional hook)
        """Called before a fan-out scenario connects its clients, with its number of groups."""

    def subscriptions(self, transport: str, group: int) -> tuple[str, ...]:
        """Streams a client of `group` subscribes to once open (a multiplexed socket), counting as
        connected when each is acknowledged; by default none (the URL is the subscription)."""
        return ()

    def prepare_tenants(self, units: int, per_unit: int) -> list[TenantSocket]:
        """The sockets of `units` x `per_unit` users: by default `per_unit` sockets on each group."""
        return [TenantSocket(self.stream_url("ws", g), g) for g in range(units) for _ in range(per_unit)]

    async def post_tenant_event(self, http: HttpClient, key: int, group: int, member: int) -> int:
        """Create one event for unit `group` as its member number `member`: by default `post_event`."""
        return await self.post_event(http, key, group)

    def python_env(self, **extra: str) -> dict[str, str]:
        """A minimal environment for a Python server of this virtualenv."""
        env = {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}
        env.update(extra)
        return env
