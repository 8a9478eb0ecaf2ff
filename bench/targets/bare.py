"""`bare`: the ASGI broadcast app of `baselines/bare_app.py` under uvicorn (uvloop, httptools)."""

from pathlib import Path

from httpclient import HttpClient

from targets.base import BASELINES_DIR, VENV_BIN, Target, event_title


class BareTarget(Target):
    """No Django, no channel layer: the ceiling."""

    name = "bare"
    transports = frozenset({"ws", "sse"})

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """uvicorn with its defaults (it picks uvloop and httptools when installed)."""
        argv = [
            str(VENV_BIN / "uvicorn"),
            "bare_app:app",
            "--app-dir",
            str(BASELINES_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        return argv, BASELINES_DIR, self.python_env()

    def stream_url(self, transport: str, group: int) -> str:
        """`/ws/<group>` or `/sse/<group>`."""
        if transport == "ws":
            return f"{self.ws_base}/ws/{group}"
        return f"{self.base_url}/sse/{group}"

    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """`POST /publish/<group>` with the event as the JSON body."""
        response = await http.post(f"{self.base_url}/publish/{group}", json={"unit": group, "title": event_title(key)})
        return response.status_code
