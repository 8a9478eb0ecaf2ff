"""
The /jobs/ page in headless Chromium: sign in, start a job, watch its bar reach 100% live, its
row in "Your recent jobs" follow along, and repeated warnings listed once with a count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.chromium import Browser, Page
from tests.support import Server

ITEMS = 150


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server({"PROGRESS_ITEM_DELAY_MS": "15"}) as running:  # about 2 s per job: long enough to watch
        yield running


WATCH_A_JOB = """
new Promise((resolve, reject) => {
  const box = document.getElementById('job-progress');
  const seen = [];
  const observer = new MutationObserver(() => {
    const value = Number(box.querySelector('[data-role="track"]').getAttribute('aria-valuenow'));
    if (box.dataset.jobId && seen[seen.length - 1] !== value) seen.push(value);
    if (box.dataset.status === 'completed' || box.dataset.status === 'failed') {
      observer.disconnect();
      resolve({
        seen,
        status: box.dataset.status,
        hidden: box.hidden,
        percent: box.querySelector('[data-role="percent"]').textContent,
        width: box.querySelector('[data-role="bar"]').style.width,
        processed: box.querySelector('[data-role="processed"]').textContent,
        message: box.querySelector('[data-role="message"]').textContent,
        jobId: box.dataset.jobId,
      });
    }
  });
  observer.observe(box, {attributes: true, childList: true, characterData: true, subtree: true});
  setTimeout(() => reject(new Error('the bar did not finish: ' + JSON.stringify(seen))), 60000);
  document.getElementById('task-type').value = '%s';
  document.getElementById('total-items').value = '%d';
  document.getElementById('start-job').click();
})
"""


def _signed_in(browser: Browser, server: Server, username: str = "alice") -> Page:
    page = browser.page()
    page.navigate(f"{server.base}/jobs/")
    assert page.evaluate("location.pathname + location.search") == "/accounts/login/?next=/jobs/"
    page.evaluate_and_wait_load(
        f"document.getElementById('id_username').value = '{username}';"
        "document.getElementById('id_password').value = 'demo-pass-123';"
        "document.querySelector('main form').submit();"
    )
    assert page.evaluate("location.pathname") == "/jobs/"
    return page


RECENT_ROW = """
(() => {
  const row = document.querySelector('#recent-jobs tr[data-job-id="%s"]');
  return row && [...row.querySelectorAll('td')].slice(1).map((cell) => cell.textContent);
})()
"""


def test_a_signed_in_user_starts_a_job_and_watches_its_bar_reach_100_percent(server: Server) -> None:
    with Browser() as browser:
        page = _signed_in(browser, server)
        assert page.evaluate("typeof SSEProgressUI") == "function"

        bar = page.evaluate(WATCH_A_JOB % ("report_generation", ITEMS), timeout=70)

        assert bar["status"] == "completed" and not bar["hidden"]
        assert (bar["percent"], bar["width"], bar["processed"]) == ("100%", "100%", f"{ITEMS} / {ITEMS}")
        assert bar["message"].startswith("Report ready")
        seen = bar["seen"]
        assert seen == sorted(seen) and seen[-1] == 100, seen
        assert any(0 < value < 100 for value in seen), f"the bar moved while the job ran: {seen}"
        job = page.evaluate(f"fetch('/api/progress/jobs/{bar['jobId']}/').then(r => r.json())")
        assert (job["status"], job["processed_items"], job["percent"]) == ("completed", ITEMS, 100.0)
        # "Your recent jobs" followed the job live, without a reload.
        assert page.evaluate(RECENT_ROW % bar["jobId"]) == ["Generating a report", "completed", "100%", job["message"]]
        assert page.errors() == []


def test_repeated_warnings_are_listed_once_with_a_count(server: Server) -> None:
    with Browser() as browser:
        page = _signed_in(browser, server)
        bar = page.evaluate(WATCH_A_JOB % ("email_sending", 40), timeout=70)
        job = page.evaluate(f"fetch('/api/progress/jobs/{bar['jobId']}/').then(r => r.json())")
        warnings = page.evaluate(
            "[...document.querySelectorAll('#job-progress [data-role=\"details\"] li')]"
            ".map((item) => [item.firstChild.textContent, Number(item.dataset.count)])"
        )

        texts = [text for text, _ in warnings]
        assert len(set(texts)) == len(texts), texts
        # Warnings sent before the page's stream opened are not replayed (a late subscriber
        # gets the job's state), so the counts may fall short of failed_items, never above it.
        shown = sum(count for _, count in warnings)
        assert 0 < len(warnings) < shown <= job["failed_items"], (job, warnings)
        counted = page.evaluate(
            "[...document.querySelectorAll('#job-progress [data-role=\"count\"]')].map((badge) => badge.textContent)"
        )
        assert counted == [f"×{count}" if count > 1 else "" for _, count in warnings]
        assert page.errors() == []
