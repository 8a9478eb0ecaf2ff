"""Jobs run at a demo pace under the development settings and at full speed in production."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import BACKEND, PYTHON


def _item_delay(settings_module: str, **env: str) -> int:
    code = "from apps.progress.conf import progress_setting; print(json.dumps(progress_setting('ITEM_DELAY_MS')))"
    environ = {k: v for k, v in os.environ.items() if k != "PROGRESS_ITEM_DELAY_MS"}
    environ.update(DJANGO_SETTINGS_MODULE=settings_module, SECRET_KEY="pace-test-secret-key-long-enough", **env)
    done = subprocess.run(
        [PYTHON, "-c", f"import json, django; django.setup(); {code}"],
        cwd=BACKEND,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_development_settings_pace_the_default_job_to_a_few_seconds() -> None:
    # 200 items (the /jobs/ form's default) at this pace: seconds, so the bar visibly moves.
    assert 2_000 <= 200 * _item_delay("config.settings.local") <= 10_000


@pytest.mark.parametrize("settings_module", ["config.settings.production", "config.settings.base"])
def test_production_runs_jobs_without_a_pause(settings_module: str) -> None:
    assert _item_delay(settings_module) == 0


def test_the_pace_follows_the_environment() -> None:
    assert _item_delay("config.settings.local", PROGRESS_ITEM_DELAY_MS="0") == 0
