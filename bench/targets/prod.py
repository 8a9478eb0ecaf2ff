"""The production shape: `WEB_CONCURRENCY` server processes sharing one port, Redis between them.

- `syncline-prod`: the product started by `run_asgi.sh` exactly as the Procfile and the
  supervisor config start it (production settings, `config.serve --workers N`, Daphne's access
  log on, the default channel layer), its own Redis, and a Celery worker (`celery -A config
  worker`), as deployed.
- `bare-prod`: `baselines/bare_app.py` under `uvicorn --workers N` with `BARE_REDIS_URL`: a
  publish is one Redis `PUBLISH` that every process receives and fans out to its own sockets,
  so cross-process delivery costs both the same.

- `raw-publish`: `bare-prod` with `baselines/raw_publisher.py` in front (one uvicorn process):
  each event is an INSERT, an `XADD` and a `PUBLISH` written by hand, against a database and
  Redis of the same kind as the product's. The floor of what publishing an event can cost.

N is `WEB_CONCURRENCY` from the benchmark's environment, 2 when unset.
"""

import os
from pathlib import Path

from httpclient import HttpClient

from targets.bare import BareTarget
from targets.base import BASELINES_DIR, REPO_DIR, VENV_BIN, event_title
from targets.procs import BenchDatabase, PrivateRedis, ServerProcess, TargetUnavailableError, free_port, redis_commands
from targets.syncline import BACKEND_DIR, SynclineTarget


def web_concurrency() -> int:
    """Server processes per production-shape target."""
    raw = os.environ.get("WEB_CONCURRENCY", "2")
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be a whole number of processes, got {raw!r}")
    return int(raw)


class SynclineProdTarget(SynclineTarget):
    """`run_asgi.sh` with `WEB_CONCURRENCY` Daphne processes, plus a Celery worker."""

    name = "syncline-prod"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.worker: ServerProcess | None = None

    def _env(self) -> dict[str, str]:
        env = super()._env()
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.production",
            SECRET_KEY="bench-production-shape-secret-key-of-fifty-chars-or-more",
            SECURE_COOKIES="0",  # plain HTTP on 127.0.0.1
            WEB_CONCURRENCY=str(web_concurrency()),
            HOST="127.0.0.1",
            PORT=str(self.port),
            PYTHON=str(VENV_BIN / "python"),
        )
        return env

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """`run_asgi.sh`, the product's launcher (ASGI_SERVER=daphne)."""
        return [str(REPO_DIR / "run_asgi.sh")], REPO_DIR, self._env()

    def start(self) -> None:
        """The Celery worker first (as supervisor starts both), then the web processes."""
        argv = [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO", "--hostname", "bench@%h"]
        self.worker = ServerProcess(argv, cwd=BACKEND_DIR, env=self._env(), log=self.workdir / "worker.log")
        try:
            super().start()
        except TargetUnavailableError:
            self.worker.stop()
            raise
        if not self.worker.alive():
            raise TargetUnavailableError(f"the Celery worker exited; see {self.worker.log}")

    def stop(self) -> None:
        """The web processes, then the worker (a warm shutdown: nothing is running)."""
        super().stop()
        if self.worker is not None:
            self.worker.stop(timeout_s=15.0)
            self.worker = None

    def server_pids(self) -> list[int]:
        """The launcher with its Daphne processes, and the Celery worker."""
        return [self.pid, *([self.worker.pid] if self.worker is not None else [])]


class BareProdTarget(BareTarget):
    """The bare app on `WEB_CONCURRENCY` uvicorn processes, a publish going through Redis."""

    name = "bare-prod"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.redis: PrivateRedis | None = None

    def prepare(self) -> None:
        """Its own Redis."""
        self.redis = PrivateRedis(self.workdir)

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """`uvicorn bare_app:app --workers N` with `BARE_REDIS_URL`."""
        assert self.redis is not None
        argv, cwd, env = super().command()
        env["BARE_REDIS_URL"] = self.redis.url(0)
        return [*argv, "--workers", str(web_concurrency())], cwd, env

    def aux_pids(self) -> list[int]:
        """The private Redis."""
        return [self.redis.pid] if self.redis is not None else []

    def cleanup(self) -> None:
        """Stop the servers and the private Redis."""
        super().cleanup()
        if self.redis is not None:
            self.redis.stop()


class RawPublishTarget(BareProdTarget):
    """`bare-prod` for delivery, events published by the hand-written INSERT + XADD + PUBLISH."""

    name = "raw-publish"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.database: BenchDatabase | None = None
        self.publisher: ServerProcess | None = None
        self.publisher_port = 0

    def prepare(self) -> None:
        """Its own Redis and database."""
        super().prepare()
        self.database = BenchDatabase(self.name, self.workdir)

    def start(self) -> None:
        """The bare processes, then the publisher on a port of its own."""
        assert self.redis is not None and self.database is not None
        super().start()
        self.publisher_port = free_port()
        argv = [str(VENV_BIN / "uvicorn"), "raw_publisher:app", "--app-dir", str(BASELINES_DIR)]
        argv += ["--host", "127.0.0.1", "--port", str(self.publisher_port), "--no-access-log"]
        env = self.python_env(RAW_REDIS_URL=self.redis.url(0), RAW_DATABASE_URL=self.database.url)
        self.publisher = ServerProcess(argv, cwd=BASELINES_DIR, env=env, log=self.workdir / "publisher.log")
        self.publisher.wait_http(f"http://127.0.0.1:{self.publisher_port}/healthz")

    def stop(self) -> None:
        """The publisher, then the bare processes."""
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher = None
        super().stop()

    def server_pids(self) -> list[int]:
        """The bare processes and the publisher."""
        return [self.pid, *([self.publisher.pid] if self.publisher is not None else [])]

    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """`POST /publish/<group>` to the publisher."""
        url = f"http://127.0.0.1:{self.publisher_port}/publish/{group}"
        response = await http.post(url, json={"unit": group, "title": event_title(key)})
        return response.status_code

    def publish_counters(self) -> dict[str, int]:
        """Commands of the private Redis, and the database's statistics on Postgres."""
        assert self.redis is not None and self.database is not None
        return {"redis_commands": redis_commands(self.redis.client()), **self.database.counters()}

    def cleanup(self) -> None:
        """Stop everything; drop a Postgres database."""
        super().cleanup()
        if self.database is not None:
            self.database.drop()
