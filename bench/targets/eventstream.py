"""`eventstream`: django-eventstream 5.3 SSE from one Daphne process (`baselines/eventstream/`)."""

from pathlib import Path

from httpclient import HttpClient

from targets.base import BASELINES_DIR, VENV_BIN, Target, event_title

PROJECT_DIR = BASELINES_DIR / "eventstream"


class EventstreamTarget(Target):
    """`send_event` from a POST view to the listeners of the same process."""

    name = "eventstream"
    transports = frozenset({"sse"})

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """Daphne with its defaults."""
        argv = [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "esproject.asgi:application"]
        env = self.python_env(DJANGO_SETTINGS_MODULE="esproject.settings", PYTHONPATH=str(PROJECT_DIR))
        return argv, PROJECT_DIR, env

    def stream_url(self, transport: str, group: int) -> str:
        """`/events/?channel=unit-<group>`."""
        return f"{self.base_url}/events/?channel=unit-{group}"

    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """`POST /send/`: the view calls `send_event`."""
        response = await http.post(f"{self.base_url}/send/", json={"unit": group, "title": event_title(key)})
        return response.status_code
