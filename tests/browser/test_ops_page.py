"""
The operations page in headless Chromium, on two Daphne processes sharing Redis: the staff
user's page goes live (both processes listed), and disconnecting alice closes her socket,
open in another browser context on the other process, with 4401; alice gets 403 on /ops/.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.browser.build import FRONTEND, ensure_built
from tests.browser.chromium import Browser, Page
from tests.support import Server, own_redis

CLIENT = FRONTEND / "packages" / "client"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    ensure_built("packages/client", CLIENT / "dist" / "index.js", [CLIENT / "src", FRONTEND / "package-lock.json"])
    with own_redis() as (url, _):
        env = {
            "REDIS_URL": url,
            "CHANNEL_LAYER": "redis",
            "REDIS_PREFIX": f"ops{uuid.uuid4().hex[:6]}",
            "REALTIME_OPS_REPORT_INTERVAL": "0.5",
        }
        with Server(env) as a, Server(env, db=a.db).start(migrate=False) as b:
            yield a, b


def sign_in(page: Page, server: Server, username: str, then: str) -> None:
    page.navigate(f"{server.base}/accounts/login/?next={then}")
    page.evaluate_and_wait_load(
        f"document.getElementById('id_username').value = {json.dumps(username)};"
        "document.getElementById('id_password').value = 'demo-pass-123';"
        "document.querySelector('main form').submit();"
    )


LIVE_WITH_TWO_PROCESSES = """
new Promise((resolve, reject) => {
  const check = () => document.getElementById('ops-status').textContent === 'open'
    && document.querySelectorAll('#ops-processes tr').length === 2
    && document.getElementById('ops-routes').textContent.includes('requests');
  if (check()) return resolve(true);
  const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); resolve(true); } });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
  setTimeout(() => reject(new Error('not live with two processes: ' + document.body.innerText)), 30000);
})
"""


def test_staff_disconnects_alice_on_another_process_and_alice_may_not_see_the_page(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    with Browser() as browser:
        alice = browser.page(isolated=True)
        alice.navigate(f"{b.base}/healthz")
        token = b.token("alice")
        alice.evaluate(
            "window.socketClosed = new Promise(resolve => {"
            f"  const ws = new WebSocket('{b.ws}/ws/requests/1/?token={token}');"
            "  ws.onopen = () => { window.opened = true; };"
            "  ws.onclose = (event) => resolve(event.code);"
            "}); true"
        )
        staff = browser.page(isolated=True)
        sign_in(staff, a, "admin", "/ops/")
        assert staff.evaluate("location.pathname") == "/ops/"
        assert staff.evaluate(LIVE_WITH_TWO_PROCESSES, timeout=40) is True
        assert alice.evaluate("window.opened === true")

        me = f"fetch('/api/auth/me/', {{headers: {{Authorization: 'Bearer {token}'}}}}).then(r => r.json())"
        alice_id = alice.evaluate(f"{me}.then(me => me.id)")
        assert isinstance(alice_id, int)
        staff.evaluate(
            f"document.getElementById('ops-user').value = '{alice_id}';"
            "document.getElementById('ops-disconnect').click(); true"
        )
        assert alice.evaluate("window.socketClosed", timeout=20) == 4401
        result = staff.evaluate(
            "new Promise(resolve => { const r = document.getElementById('ops-disconnect-result');"
            " const done = () => r.textContent && resolve(r.textContent); done();"
            " new MutationObserver(done).observe(r, {childList: true, characterData: true, subtree: true}); })"
        )
        assert result.startswith(f"user {alice_id}:"), result

        sign_in(alice, a, "alice", "/jobs/")
        assert alice.evaluate("fetch('/ops/').then(r => r.status)") == 403
        assert staff.errors() == [] and alice.errors() == []
