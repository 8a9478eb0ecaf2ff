"""`manage.py check --deploy` on the production settings, with HTTPS left undecided, done by
Django, or deliberately left to the TLS proxy."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
from django.test import Client

from tests.support import BACKEND, PYTHON

DJANGO_DOES_IT = {
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}
THE_PROXY_DOES_IT = {"SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"}
HTTPS_SETTINGS = (*DJANGO_DOES_IT, "SECURE_COOKIES")


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in HTTPS_SETTINGS and k != "DEBUG"}
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BACKEND,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "check-deploy-" + "k3y-with-enough-length-and-variety-0123456789-abcdefghijk",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_warns_while_https_is_undecided() -> None:
    result = check_deploy({})
    assert result.returncode == 1, result
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_it_passes_when_django_redirects_and_sends_hsts() -> None:
    result = check_deploy(DJANGO_DOES_IT)
    assert result.returncode == 0, result
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_passes_when_the_proxy_does_it_and_the_settings_say_so() -> None:
    result = check_deploy(THE_PROXY_DOES_IT)
    assert result.returncode == 0, result
    assert "System check identified no issues (2 silenced)." in result.stdout


def test_hsts_without_its_options_warns_until_they_are_decided() -> None:
    undecided = check_deploy({"SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "3600"})
    assert undecided.returncode == 1 and "security.W005" in undecided.stderr and "security.W021" in undecided.stderr
    decided = check_deploy(
        {
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
            "SECURE_HSTS_PRELOAD": "off",
        }
    )
    assert decided.returncode == 0, decided


@pytest.mark.django_db
def test_the_redirect_spares_the_probes_and_hsts_reaches_https_answers(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    client = Client()
    redirected = client.get("/api/auth/me/")
    assert (redirected.status_code, redirected["Location"]) == (301, "https://testserver/api/auth/me/")
    assert client.get("/healthz").status_code == 200
    secure = client.get("/healthz", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=3600"
