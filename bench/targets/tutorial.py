"""`tutorial`: the Channels tutorial pattern of `baselines/tutorial/` under Daphne.

One `AsyncJsonWebsocketConsumer` per socket in a group per unit, a model whose `post_save`
signal calls `async_to_sync(channel_layer.group_send)`, `RedisChannelLayer`, SQLite.
"""

from pathlib import Path

from httpclient import HttpClient

from targets.base import BASELINES_DIR, VENV_BIN, Target, event_title
from targets.procs import PrivateRedis, run_once

PROJECT_DIR = BASELINES_DIR / "tutorial"


class TutorialTarget(Target):
    """What users copy from the Channels tutorials."""

    name = "tutorial"
    transports = frozenset({"ws"})

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.redis: PrivateRedis | None = None

    def _env(self) -> dict[str, str]:
        assert self.redis is not None
        return self.python_env(
            DJANGO_SETTINGS_MODULE="tutorialsite.settings",
            PYTHONPATH=str(PROJECT_DIR),
            REDIS_URL=self.redis.url(0),
            TUTORIAL_DB=str(self.workdir / "tutorial.sqlite3"),
        )

    def prepare(self) -> None:
        """Start a private Redis and migrate a fresh SQLite database."""
        self.redis = PrivateRedis(self.workdir)
        run_once(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=PROJECT_DIR,
            env=self._env(),
            log=self.workdir / "setup.log",
            timeout_s=120,
        )

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """Daphne with its defaults."""
        argv = [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "tutorialsite.asgi:application"]
        return argv, PROJECT_DIR, self._env()

    def start(self) -> None:
        """Empty the private Redis (stale group members of a previous run), then start."""
        assert self.redis is not None
        self.redis.flush()
        super().start()

    def cleanup(self) -> None:
        """Stop Daphne and the private Redis."""
        super().cleanup()
        if self.redis is not None:
            self.redis.stop()

    def aux_pids(self) -> list[int]:
        """The private Redis."""
        return [self.redis.pid] if self.redis is not None else []

    def stream_url(self, transport: str, group: int) -> str:
        """`/ws/units/<group>/`."""
        return f"{self.ws_base}/ws/units/{group}/"

    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """`POST /announcements/`: the model save fires the signal."""
        response = await http.post(f"{self.base_url}/announcements/", json={"unit": group, "title": event_title(key)})
        return response.status_code
