"""Test settings: fast hashing, in-memory email, a key prefix of its own per run."""

import os
import tempfile
from pathlib import Path
from typing import Any

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-with-enough-length-for-hs256"  # noqa: S105 - tests only
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
if not os.environ.get("DATABASE_URL"):
    # A file, not SQLite's shared in-memory database: that one locks whole tables between
    # threads (request threads, task pool, timers) and ignores the busy timeout.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"syncline-test-{os.getpid()}.sqlite3")
    }
# Tests call relay_once() and report_once() themselves.
REALTIME: dict[str, Any] = {**REALTIME, "OUTBOX_RELAY_INTERVAL": 0, "OPS_REPORT_INTERVAL": 0}  # noqa: F405
