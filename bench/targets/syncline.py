"""`syncline`, `syncline-uvicorn`, `syncline-pubsub`, `syncline-redis`: the product in `backend/`, driven by its
wire protocol.

Setup follows the README and docs/api.md: `migrate` and `seed_demo --force` on a throwaway SQLite file, the
product's default channel layer (or the one the target names) on a private redis-server, a JWT for the
demo user `bob`, his unit North.
Sockets open `/ws/requests/<unit>/?token=...`, SSE clients `/api/events/?channel=
requests.unit.<unit>&token=...`; events are requests created with `POST /api/requests/`,
whose envelope carries the title in `data.title`. When the backend cannot be set up or
started, the target is skipped with the reason (the command and the end of its output).

Fan-out over several groups (`ws:100x50@10`) uses `seed_load --units G --users-per-unit 1`:
group g is load unit g, its sockets and its events are those of the unit's one member (the
per-user cap lifted as for one group); its WebSockets open the multiplexed `/ws/` and
subscribe to the unit's `requests.unit.<id>`, counting as connected once `subscribed`, which
the server answers when the stream is live (a stream route has no such answer).

Multi-tenant scenarios use `seed_load` too: every user of every unit plays one socket on
the multiplexed `/ws/` with their own token, subscribed to the unit's `requests.unit.<id>` and
`crates.unit.<id>` and their `notifications.user.<id>`; events are created by the unit's members.
There the per-user socket cap keeps its default.
"""

import json
from pathlib import Path
from typing import Any, ClassVar

from httpclient import HttpClient, HttpError

from targets.base import REPO_DIR, VENV_BIN, Target, TenantSocket, event_title
from targets.procs import BenchDatabase, PrivateRedis, TargetUnavailableError, redis_commands, run_once

BACKEND_DIR = REPO_DIR / "backend"
DEMO_USER = {"username": "bob", "password": "demo-pass-123"}
DEMO_UNIT = "North"
SETUP_TIMEOUT_S = 180
MAX_SOCKETS_PER_USER = 100_000
TENANT_TOKEN_TTL_S = 86_400


class SynclineTarget(Target):
    """The product under Daphne (`ASGI_SERVER=daphne`)."""

    name = "syncline"
    transports = frozenset({"ws", "sse"})
    # One group is the demo unit North; more are load units (`seed_load`, see prepare_groups).
    max_groups = 10_000
    asgi_server: ClassVar[str] = "daphne"
    channel_layer: ClassVar[str] = ""  # the product's default

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.redis: PrivateRedis | None = None
        self.database: BenchDatabase | None = None
        self.access = ""
        self.unit_id = 0
        self.lift_user_cap = True
        # Load units: per unit index, (unit id, access tokens of its members). Fan-out over several
        # groups uses the first member of each; multi-tenant scenarios every member.
        self.tenants: list[tuple[int, list[str]]] = []
        self.grouped = False

    def _env(self) -> dict[str, str]:
        assert self.redis is not None and self.database is not None
        env = self.python_env(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            PYTHONPATH=str(BACKEND_DIR),
            REDIS_URL=self.redis.url(0),
            DEBUG="0",
            SECRET_KEY="bench",
            ALLOWED_HOSTS="*",
            DATABASE_URL=self.database.url,
            JWT_ACCESS_TTL="3600",
            ASGI_SERVER=self.asgi_server,
            CHANNEL_LAYER=self.channel_layer,
        )
        if self.lift_user_cap:
            # The benchmark plays thousands of users with one demo account; lift the per-user cap.
            env["REALTIME_MAX_SOCKETS_PER_USER"] = str(MAX_SOCKETS_PER_USER)
        return env

    def prepare(self) -> None:
        """Check the backend is there, start a private Redis, migrate and seed the demo data."""
        for needed in ("manage.py", "config/asgi.py"):
            if not (BACKEND_DIR / needed).exists():
                raise TargetUnavailableError(
                    f"backend/{needed} does not exist yet: the product is not ready to benchmark"
                )
        self.database = BenchDatabase(self.name, self.workdir)
        self.redis = PrivateRedis(self.workdir)
        python = str(VENV_BIN / "python")
        log = self.workdir / "setup.log"
        for step in (["migrate", "--noinput"], ["seed_demo", "--force"]):
            run_once([python, "manage.py", *step], cwd=BACKEND_DIR, env=self._env(), log=log, timeout_s=SETUP_TIMEOUT_S)

    def configure(self, kind: str) -> None:
        """Multi-tenant scenarios play each user with their own token: keep the per-user cap."""
        self.lift_user_cap = kind != "tenants"
        self.grouped = False

    def _load_units(self, units: int, per_unit: int) -> dict[str, Any]:
        """`seed_load --units U --users-per-unit M` (idempotent; once per size and run); its tokens file."""
        tokens = self.workdir / f"tokens-{units}x{per_unit}.json"
        if not tokens.exists():
            argv = [str(VENV_BIN / "python"), "manage.py", "seed_load", "--units", str(units)]
            argv += ["--users-per-unit", str(per_unit), "--ttl", str(TENANT_TOKEN_TTL_S), "--out", str(tokens)]
            log = self.workdir / "setup.log"
            run_once([*argv, "--force"], cwd=BACKEND_DIR, env=self._env(), log=log, timeout_s=SETUP_TIMEOUT_S)
        document: dict[str, Any] = json.loads(tokens.read_text())
        self.tenants = [(u["id"], [m["access"] for m in u["members"]]) for u in document["units"]]
        return document

    def prepare_groups(self, groups: int) -> None:
        """One group: the demo unit. More: `groups` load units of one member each."""
        self.grouped = groups > 1
        if self.grouped:
            self._load_units(groups, 1)

    def prepare_tenants(self, units: int, per_unit: int) -> list[TenantSocket]:
        """The load units, then a socket per member on `/ws/`, subscribed to its unit's two
        streams and its notifications."""
        self.grouped = False
        document = self._load_units(units, per_unit)
        sockets = []
        for group, unit in enumerate(document["units"]):
            for member in unit["members"]:
                streams = (f"requests.unit.{unit['id']}", f"crates.unit.{unit['id']}")
                streams += (f"notifications.user.{member['user_id']}",)
                sockets.append(TenantSocket(f"{self.ws_base}/ws/?token={member['access']}", group, streams))
        return sockets

    async def post_tenant_event(self, http: HttpClient, key: int, group: int, member: int) -> int:
        """`POST /api/requests/` in unit number `group`, as its member number `member`."""
        unit_id, tokens = self.tenants[group]
        body = {"unit": unit_id, "request_type": "storage", "title": event_title(key)}
        response = await http.post(f"{self.base_url}/api/requests/", json=body, headers=self._auth(tokens[member]))
        return response.status_code

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """`python -m config.serve --port PORT config.asgi:application` in backend/: Daphne as
        `run_asgi.sh` starts it (the product's launcher)."""
        argv = [str(VENV_BIN / "python"), "-m", "config.serve", "--port", str(self.port), "config.asgi:application"]
        return argv, BACKEND_DIR, self._env()

    def cleanup(self) -> None:
        """Stop the server and the private Redis; drop a Postgres database."""
        super().cleanup()
        if self.redis is not None:
            self.redis.stop()
        if self.database is not None:
            self.database.drop()

    def aux_pids(self) -> list[int]:
        """The private Redis."""
        return [self.redis.pid] if self.redis is not None else []

    def publish_counters(self) -> dict[str, int]:
        """Commands of the private Redis, and the database's statistics on Postgres."""
        assert self.redis is not None and self.database is not None
        return {"redis_commands": redis_commands(self.redis.client()), **self.database.counters()}

    async def authenticate(self, http: HttpClient) -> None:
        """`POST /api/auth/token/` as bob, then his unit North from `GET /api/auth/me/`."""
        try:
            self.access = (await self._get_json(http, "POST", "/api/auth/token/", DEMO_USER))["access"]
            units = (await self._get_json(http, "GET", "/api/auth/me/"))["units"]
        except (HttpError, ValueError, KeyError, TypeError) as exc:
            raise TargetUnavailableError(f"cannot authenticate as {DEMO_USER['username']}: {exc}") from exc
        if not units:
            raise TargetUnavailableError(f"GET /api/auth/me/ lists no unit for {DEMO_USER['username']}: run seed_demo")
        self.unit_id = next((u["id"] for u in units if u.get("name") == DEMO_UNIT), units[0]["id"])

    async def _get_json(self, http: HttpClient, method: str, path: str, body: object = None) -> dict[str, Any]:
        """One API call that must answer 200 with a JSON object."""
        headers = self._auth() if self.access else None
        response = await http.request(method, f"{self.base_url}{path}", json=body, headers=headers)
        if response.status_code != 200:
            raise ValueError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        data = response.json()
        if not isinstance(data, dict):
            raise TypeError(f"{method} {path} did not answer a JSON object: {response.text[:300]}")
        return data

    def _auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.access}"}

    def _group(self, group: int) -> tuple[int, str]:
        """The unit of a group and the token of the user who plays it."""
        if self.grouped:
            unit_id, tokens = self.tenants[group]
            return unit_id, tokens[0]
        return self.unit_id, self.access

    def stream_url(self, transport: str, group: int) -> str:
        """The group's unit's request stream (several groups over WebSocket: `/ws/`, see subscriptions)."""
        unit_id, token = self._group(group)
        if transport == "ws" and self.grouped:
            return f"{self.ws_base}/ws/?token={token}"
        if transport == "ws":
            return f"{self.ws_base}/ws/requests/{unit_id}/?token={token}"
        return f"{self.base_url}/api/events/?channel=requests.unit.{unit_id}&token={token}"

    def subscriptions(self, transport: str, group: int) -> tuple[str, ...]:
        """Several groups over WebSocket: the unit's request stream, on `/ws/`."""
        return (f"requests.unit.{self._group(group)[0]}",) if transport == "ws" and self.grouped else ()

    async def post_event(self, http: HttpClient, key: int, group: int) -> int:
        """`POST /api/requests/` creates a storage request titled `bench-<key>` in the group's unit."""
        unit_id, token = self._group(group)
        body = {"unit": unit_id, "request_type": "storage", "title": event_title(key)}
        response = await http.post(f"{self.base_url}/api/requests/", json=body, headers=self._auth(token))
        return response.status_code


class SynclineUvicornTarget(SynclineTarget):
    """The product under uvicorn (`ASGI_SERVER=uvicorn`)."""

    name = "syncline-uvicorn"
    asgi_server = "uvicorn"

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """`uvicorn config.asgi:application --host 127.0.0.1 --port PORT` in backend/."""
        argv = [str(VENV_BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(self.port)]
        return argv, BACKEND_DIR, self._env()


class SynclinePubSubTarget(SynclineTarget):
    """The product under Daphne with `RedisPubSubChannelLayer` (`CHANNEL_LAYER=pubsub`)."""

    name = "syncline-pubsub"
    channel_layer = "pubsub"


class SynclineRedisTarget(SynclineTarget):
    """The product under Daphne with `RedisChannelLayer` (`CHANNEL_LAYER=redis`)."""

    name = "syncline-redis"
    channel_layer = "redis"
