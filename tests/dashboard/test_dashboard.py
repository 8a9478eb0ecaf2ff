"""The live dashboard: who reads it, what it counts, and how bursts of changes are coalesced."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from apps.dashboard import selectors, services
from apps.dashboard.coalesce import Coalescer
from apps.realtime.events import validate
from apps.realtime.redis_config import parse
from tests.support import Demo, close_code, connect, nothing_more, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(demo: Demo) -> Iterator[Demo]:
    """The demo data, with the dashboard publish its seeding started finished: no publish
    scheduled before the test lands in it."""
    services.coalescer.reset()
    yield demo
    services.coalescer.reset()


def north_pending(kpis: dict[str, Any]) -> int:
    return next(int(unit["by_status"]["pending"]) for unit in kpis["requests"] if unit["unit"] == "North")


def create_requests(demo: Demo, count: int) -> None:
    from apps.requests.services import request_create

    bob, north = demo.user("bob"), demo.unit("North")
    for n in range(count):
        request_create(actor=bob, unit_id=north.pk, request_type="storage", title=f"Burst {n}")


async def test_a_burst_of_fifty_changes_yields_at_most_three_frames_the_last_one_final(layer: str, demo: Demo) -> None:
    token = await sync_to_async(demo.token)("admin")
    ws, accepted, _ = await connect(f"/ws/dashboard/?token={token}")
    assert accepted
    before = north_pending(await sync_to_async(selectors.dashboard_kpis)())

    await sync_to_async(create_requests)(demo, 50)
    burst_done = time.monotonic()

    frames = []
    while True:
        frame = await receive(ws, timeout=3)
        assert frame["type"] == "dashboard.updated", frame
        validate(frame)
        frames.append(frame)
        if north_pending(frame["data"]) == before + 50:
            break
    final_after = time.monotonic() - burst_done
    assert await nothing_more(ws, 1.2), "a frame after the final state"
    print(f"\n50 changes -> {len(frames)} dashboard frames; final state {final_after:.2f}s after the burst")
    assert len(frames) <= 3
    assert final_after < 2.0, "the trailing change was not published promptly"
    assert frames[-1]["stream"] == "dashboard" and frames[-1]["dashboard_id"] == "main"
    assert frames[-1]["data"] == await sync_to_async(selectors.dashboard_kpis)()
    await ws.disconnect()


async def test_a_new_dashboard_reader_first_gets_the_latest_kpis(memory_layer: str, demo: Demo) -> None:
    await sync_to_async(services.dashboard_publish)()
    token = await sync_to_async(demo.token)("mentor")
    ws, _, _ = await connect(f"/ws/dashboard/?token={token}")
    frame = await receive(ws)
    validate(frame)
    assert frame["data"] == await sync_to_async(selectors.dashboard_kpis)()
    await ws.disconnect()


@pytest.mark.parametrize(("username", "code"), [("bob", 4403), ("nina", 4403), ("stella", 4403), (None, 4401)])
async def test_only_staff_and_mentors_read_the_dashboard(
    memory_layer: str, demo: Demo, username: str | None, code: int
) -> None:
    query = f"?token={await sync_to_async(demo.token)(username)}" if username else ""
    ws, accepted, _ = await connect(f"/ws/dashboard/{query}")
    assert accepted
    assert await close_code(ws) == code


def test_the_dashboard_api_is_for_staff_and_mentors(memory_layer: str, demo: Demo) -> None:
    assert demo.api("bob").get("/api/dashboard/").status_code == 403
    assert demo.api("stella").get("/api/dashboard/").status_code == 403
    assert demo.api("mentor").get("/api/dashboard/").status_code == 200
    assert demo.api("admin").get("/api/dashboard/").status_code == 200


def test_the_kpis_count_requests_per_unit_submissions_and_notifications(memory_layer: str, demo: Demo) -> None:
    from django.apps import apps

    from apps.requests.models import Request

    kpis = demo.api("admin").get("/api/dashboard/").json()
    assert [unit["unit"] for unit in kpis["requests"]] == ["North", "South"]
    for unit in kpis["requests"]:
        for state, count in unit["by_status"].items():
            assert count == Request.objects.filter(unit_id=unit["unit_id"], status=state).count()
    assert set(kpis["requests"][0]["by_status"]) == set(Request.Status.values)
    assert kpis["submissions_waiting"] == 0
    assert demo.api("stella").post("/api/academy/submissions/", {"title": "Essay"}).status_code == 201
    assert demo.api("admin").get("/api/dashboard/").json()["submissions_waiting"] == 1
    assert kpis["notifications"] == {"pending": 0, "failed": 0}
    assert (kpis["invoices"] is None) == (not apps.is_installed("apps.sales"))
    assert (kpis["jobs_running"] is None) == (not apps.is_installed("apps.progress"))


def test_without_the_sales_and_progress_apps_their_kpis_are_null(
    memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "optional_model", lambda app_label, model_name: None)
    kpis = selectors.dashboard_kpis()
    assert kpis["invoices"] is None and kpis["jobs_running"] is None
    assert kpis["requests"] and kpis["submissions_waiting"] == 0


def test_unchanged_kpis_are_not_published_again(memory_layer: str, demo: Demo) -> None:
    from apps.requests.models import Request

    services.dashboard_publish()  # the state after seeding, unless the seeding published it already
    assert services.dashboard_publish() is False
    # A change that bypasses signals, so that only this test publishes.
    Request.objects.filter(pk=Request.objects.filter(status="pending").first().pk).update(status="approved")
    assert services.dashboard_publish() is True
    assert services.dashboard_publish() is False


def test_a_rolled_back_change_does_not_touch_the_dashboard(
    memory_layer: str, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks: list[None] = []
    monkeypatch.setattr(services.coalescer, "mark", lambda: marks.append(None))
    with pytest.raises(RuntimeError), transaction.atomic():
        create_requests(demo, 1)
        raise RuntimeError("the caller fails")
    assert marks == []
    create_requests(demo, 1)
    assert marks, "a committed change marks the dashboard dirty"


def test_processes_sharing_redis_publish_at_most_once_a_second_and_each_publishes_its_last_change(
    redis_url: str,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    runs: list[tuple[str, float]] = []
    ran = threading.Condition()

    def process(name: str) -> Coalescer:
        gate = services.RedisGate(parse(redis_url), prefix)  # a client of its own, like another process

        def publish() -> None:
            with ran:
                runs.append((name, time.monotonic()))
                ran.notify_all()

        return Coalescer(publish, services.INTERVAL, wait_ms=gate.wait_ms)

    a, b = process("a"), process("b")
    a.mark()
    with ran:
        assert ran.wait_for(lambda: len(runs) == 1, timeout=2)
    b.mark()  # within a's second: waits for the shared slot
    a.mark()  # a's own trailing change, also due when that second is over
    with ran:
        assert ran.wait_for(lambda: len(runs) == 3, timeout=4), f"runs so far: {runs}"
    names = [name for name, _ in runs]
    gaps = [later[1] - earlier[1] for earlier, later in itertools.pairwise(runs)]
    print(f"\nruns {names}, gaps {[round(g, 2) for g in gaps]} s")
    assert names[0] == "a" and sorted(names[1:]) == ["a", "b"]
    assert all(gap >= 0.9 for gap in gaps), gaps
    a.reset()
    b.reset()


def test_a_failing_publish_is_retried_a_few_times_then_waits_for_the_next_change() -> None:
    attempts: list[float] = []
    tried = threading.Condition()

    def broken_publish() -> None:
        with tried:
            attempts.append(time.monotonic())
            tried.notify_all()
        raise ConnectionError("Redis is away")

    coalescer = Coalescer(broken_publish, interval=0.05, retries=3)
    coalescer.mark()
    with tried:
        assert tried.wait_for(lambda: len(attempts) == 4, timeout=2), attempts
        assert not tried.wait_for(lambda: len(attempts) > 4, timeout=0.3), "it kept retrying"
    coalescer.mark()
    with tried:
        assert tried.wait_for(lambda: len(attempts) == 5, timeout=2), "a new change was not tried"
    coalescer.reset()
