"""
The demo app as a product, in headless Chromium: frontend/e2e/product.e2e.mjs checks what each
role is offered, notifications stored before sign-in, the live audit trail and row highlights, who
is online, the staff dashboard and /jobs/, and saves a screenshot of each page to docs/screenshots/.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import ensure_chromium
from tests.browser.test_demo_app import FRONTEND, Runner, ensure_front_end_built
from tests.support import BACKEND, PYTHON, ROOT, Server

SCRIPT = FRONTEND / "e2e" / "product.e2e.mjs"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SCENARIO_TIMEOUT = 150


def _shell(server: Server, code: str) -> Any:
    """Run `code` in `manage.py shell` against the server's database; its last line of output, as JSON."""
    done = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=BACKEND,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


SEED_NOTIFICATIONS = """
import json
from apps.accounts.models import User
from apps.notifications.services import notify_user
bob = User.objects.get(username="bob")
sent = [
    notify_user(recipient=bob, title="Request #1 needs a crate", body="Add it before approval.", level="warning"),
    notify_user(recipient=bob, title="Welcome to Syncline", body="Your requests update live."),
]
print(json.dumps([n.pk for n in reversed(sent)]))
"""

READ_NOTIFICATIONS = """
import json
from apps.notifications.models import Notification
read = Notification.objects.filter(recipient__username="bob", read_at__isnull=False)
print(json.dumps(list(read.values_list("pk", flat=True))))
"""


class ProductRunner(Runner):
    seeded: list[int]

    def step_seeded_notifications(self) -> dict[str, Any]:
        return {"ids": self.seeded}

    def step_read_notifications(self) -> dict[str, Any]:
        return {"read": _shell(self.server, READ_NOTIFICATIONS)}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    ensure_chromium()
    ensure_front_end_built()
    with Server({}) as running:
        yield running


def test_each_role_sees_its_actions_notifications_presence_audit_and_the_dashboard(server: Server) -> None:
    seeded = _shell(server, SEED_NOTIFICATIONS)
    SCREENSHOTS.mkdir(exist_ok=True)
    runner = ProductRunner(server, SCRIPT, {"SCREENSHOTS": str(SCREENSHOTS)})
    runner.seeded = seeded
    try:
        code = runner.run(timeout=SCENARIO_TIMEOUT)
    finally:
        runner.stop()
    transcript = "\n".join(runner.output)
    log = server.log.read_text()[-4000:] if server.log.exists() else "(no log)"
    assert code == 0, f"product.e2e.mjs failed (exit {code}):\n{transcript}\n[server log]\n{log}"
    assert "all checks passed" in transcript
    for page in ("sign-in", "approver", "requester", "unit-admin", "staff-dashboard", "jobs"):
        assert (SCREENSHOTS / f"{page}.png").stat().st_size > 10_000, page
