"""
Publishing from Celery's synchronous code: a real worker delivers a staff notification end
to end and runs a progress job whose events stream to its socket, and 10,000 publishes from
a worker-like process keep its Redis connections and file descriptors flat (one long-lived
publisher loop, no loop or connection per call).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis
import websockets

from apps.realtime.events import validate
from tests.support import BACKEND, PYTHON, Server, own_redis, ws_json

HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def celery_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A config worker` in backend/, with the server's environment (same SQLite file and Redis)."""
    cmd = [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO",
           "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with log.open("wb") as out:
        worker = subprocess.Popen(cmd, cwd=BACKEND, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def open_notifications(server: Server, token: str, user_id: int) -> Any:
    ws = await websockets.connect(f"{server.ws}/ws/notifications/{user_id}/?token={token}")
    await ws.send(json.dumps({"type": "ping"}))
    assert (await ws_json(ws))["type"] == "pong"  # subscribed: the connect handler has finished
    return ws


def test_a_real_celery_worker_delivers_a_staff_notification_end_to_end(redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": f"e2e{uuid.uuid4().hex[:8]}"}
    with Server(env) as server, celery_worker(server.env, Path(server.tmp) / "worker.log") as worker:
        tokens = {name: server.token(name) for name in ("admin", "bob")}
        ids = {
            name: httpx.get(f"{server.base}/api/auth/me/", headers={"Authorization": f"Bearer {token}"}).json()["id"]
            for name, token in tokens.items()
        }

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            bob_ws = await open_notifications(server, tokens["bob"], ids["bob"])
            admin_ws = await open_notifications(server, tokens["admin"], ids["admin"])
            async with httpx.AsyncClient(base_url=server.base) as client:
                response = await client.post(
                    "/api/notifications/",
                    json={"user": ids["bob"], "title": "Inventory", "body": "Friday 9:00"},
                    headers={"Authorization": f"Bearer {tokens['admin']}"},
                )
            assert response.status_code == 202, response.text
            # The worker may still be starting: allow it time to boot and take the task.
            created, status = await ws_json(bob_ws, timeout=60), await ws_json(admin_ws, timeout=30)
            await bob_ws.close()
            await admin_ws.close()
            return response.json(), created, status

        try:
            sent, created, status = asyncio.run(scenario())
        except TimeoutError:
            worker_log = (Path(server.tmp) / "worker.log").read_text()[-3000:]
            raise AssertionError(f"no event; worker alive: {worker.poll() is None}\n{worker_log}") from None

    assert sent["status"] == "pending"
    validate(created)
    validate(status)
    assert (created["type"], created["notification_id"]) == ("notification.created", sent["id"])
    assert created["data"]["status"] == "sent" and created["data"]["title"] == "Inventory"
    assert (status["type"], status["status"], status["notification_id"]) == ("notification.status", "sent", sent["id"])
    assert status["stream"] == f"notifications.user.{ids['admin']}"


def test_ten_thousand_publishes_from_a_worker_process_keep_connections_and_descriptors_flat() -> None:
    total, every = 10_000, 1_000
    with own_redis() as (url, _):
        monitor = redis.Redis.from_url(url)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DEBUG": "0",
            "SECRET_KEY": "load-secret-key-with-enough-length-for-hs256",
            "REDIS_URL": url,
            "REDIS_PREFIX": "load",
        }
        publisher = subprocess.Popen(
            [PYTHON, str(HERE / "publish_loop.py"), str(total), str(every)],
            cwd=BACKEND, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert publisher.stdin is not None and publisher.stdout is not None
        samples: list[tuple[int, int, int]] = []  # (published, Redis connections, open descriptors)
        try:
            for _ in range(total // every):
                line = publisher.stdout.readline()
                assert line.startswith("published "), f"publisher said {line!r}"
                connections = len(monitor.client_list()) - 1  # not counting this monitor
                descriptors = len(os.listdir(f"/proc/{publisher.pid}/fd"))
                samples.append((int(line.split()[1]), connections, descriptors))
                publisher.stdin.write("\n")
                publisher.stdin.flush()
            assert publisher.wait(30) == 0
        finally:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()
        history_length = monitor.xlen("load:history:notifications.all")

    print("\npublished  redis-connections  open-fds")
    for published, connections, descriptors in samples:
        print(f"{published:>9}  {connections:>17}  {descriptors:>8}")
    assert [s[0] for s in samples] == list(range(every, total + 1, every))
    first = samples[0]
    assert all(s[1] == first[1] for s in samples), "Redis connections grew while publishing"
    assert all(s[2] == first[2] for s in samples), "file descriptors grew while publishing"
    assert first[1] <= 4, f"{first[1]} Redis connections for one publishing process"
    assert history_length >= 1000, "the events did not reach the history"


def test_a_real_celery_worker_runs_a_progress_job_whose_events_stream_to_the_end(redis_url: str) -> None:
    """A job started over HTTP runs in a separate worker process; its progress reaches the
    job's socket on the server, in order, up to `complete`."""
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": f"e2e{uuid.uuid4().hex[:8]}", "PROGRESS_ITEM_DELAY_MS": "30"}
    with Server(env) as server, celery_worker(server.env, Path(server.tmp) / "worker.log") as worker:
        token = server.token("alice")
        headers = {"Authorization": f"Bearer {token}"}
        body = {"task_type": "report_generation", "total_items": 100}
        job = httpx.post(f"{server.base}/api/progress/jobs/", json=body, headers=headers)
        assert job.status_code == 202, job.text
        job_id = job.json()["job_id"]

        async def follow() -> list[dict[str, Any]]:
            async with websockets.connect(f"{server.ws}/ws/progress/{job_id}/?token={token}") as ws:
                events = [await ws_json(ws, timeout=60)]  # the worker may still be starting
                while events[-1]["action"] not in ("complete", "error"):
                    events.append(await ws_json(ws, timeout=30))
                return events

        try:
            events = asyncio.run(follow())
        except TimeoutError:
            worker_log = (Path(server.tmp) / "worker.log").read_text()[-3000:]
            raise AssertionError(f"no event; worker alive: {worker.poll() is None}\n{worker_log}") from None
        stored = httpx.get(f"{server.base}/api/progress/jobs/{job_id}/", headers=headers).json()

    for event in events:
        validate(event)
    assert events[-1]["action"] == "complete" and events[-1]["percent"] == 100, events[-1]
    assert [e["percent"] for e in events] == sorted(e["percent"] for e in events), "percent went backwards"
    event_ids = [tuple(int(p) for p in e["id"].split("-")) for e in events]
    assert event_ids == sorted(set(event_ids)), "ids out of order or repeated"
    assert sum(e["action"] == "progress" for e in events) >= 2, "no live progress reached the socket"
    assert (stored["status"], stored["processed_items"]) == ("completed", 100)
