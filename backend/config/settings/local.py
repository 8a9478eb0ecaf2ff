"""Development settings: DEBUG on by default, a fixed development SECRET_KEY."""

from .base import *  # noqa: F403
from .base import env_bool, env_int

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-change-me-in-production"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The demo's pace: the /jobs/ page's default 200 items take about 5 s, long enough to watch the
# bar move (base and production keep no pause).
PROGRESS = {**PROGRESS, "ITEM_DELAY_MS": env_int("PROGRESS_ITEM_DELAY_MS", 25)}  # noqa: F405
