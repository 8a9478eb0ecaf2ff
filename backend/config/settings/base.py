"""
Settings shared by every environment. Everything that differs between machines comes
from the environment (see docs/deployment.md for the full list).

Two modes:
- embedded (no REDIS_URL): SQLite, in-process channel layer, history and transport,
  background tasks in a thread pool of the server process;
- redis (REDIS_URL set): Redis channel layer, history, Django cache and Celery broker.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # backend/
REPO_DIR = BASE_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "channels",
    "apps.realtime",
    "apps.accounts",
    "apps.audit",
    "apps.storage",
    "apps.documents",
    "apps.requests",
    "apps.notifications",
    "apps.academy",
    "apps.dashboard",
    "apps.progress",
    "apps.sales",
    "apps.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (request handlers, task pool, outbox relay) write to one file: take
    # the write lock when a transaction begins (a deferred one that upgrades later fails at
    # once with "database is locked"), wait for it, and let readers go on beside the writer
    # in WAL mode, which config/sqlite3 switches on once per process. In WAL mode,
    # synchronous=NORMAL syncs at checkpoints rather than at every commit: safe from
    # corruption, and a crash of the process loses nothing (a power cut may lose the last
    # commits). Production runs Postgres.
    DATABASES["default"]["ENGINE"] = "config.sqlite3"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA synchronous=NORMAL;"}
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Redis: one URL, separate key prefixes per use ------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "syncline")

CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER") or ("redis" if REDIS_URL else "memory")
if CHANNEL_LAYER not in {"memory", "redis", "pubsub"}:
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be memory, redis or pubsub, got {CHANNEL_LAYER!r}")
if CHANNEL_LAYER != "memory" and not REDIS_URL:
    raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER} needs REDIS_URL")


def channel_layers_for(mode: str, url: str, prefix: str) -> dict[str, Any]:
    """CHANNEL_LAYERS for a mode: `memory`, `redis` (RedisChannelLayer) or `pubsub`."""
    if mode == "memory":
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # redis-py 8 reads with a 5 s socket timeout by default, the same as the layer's
    # BZPOPMIN wait: every idle receive would fail. Give reads room, but not forever.
    host = {"address": url, "socket_timeout": 15, "socket_connect_timeout": 5}
    if mode == "redis":
        # One message per process per event reaches each process's hub channel, so its
        # queue must hold a burst; the hub detects and fills any gap anyway.
        capacity = env_int("REALTIME_LAYER_CAPACITY", 10_000)
        config = {"hosts": [host], "prefix": f"{prefix}:layer:", "capacity": capacity}
        return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}}
    config = {"hosts": [host], "prefix": f"{prefix}:layer"}
    return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": config}}


CHANNEL_LAYERS = channel_layers_for(CHANNEL_LAYER, REDIS_URL, REDIS_PREFIX)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
# Embedded mode (no broker): tasks run in a thread pool of the calling process, after
# commit, so the request that started them returns at once.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
CELERY_EMBEDDED = not CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Real-time ----------------------------------------------------------------------------
REALTIME = {
    # Events kept per stream for resume (Redis XADD MAXLEN ~ keeps at least this many).
    "HISTORY_SIZE": env_int("REALTIME_HISTORY_SIZE", 1000),
    # Frames queued for one socket before it is closed with 4408 (too slow).
    "OUTBOUND_QUEUE": env_int("REALTIME_OUTBOUND_QUEUE", 1000),
    # Inbound frames per socket per second before 4429.
    "INBOUND_RATE": env_int("REALTIME_INBOUND_RATE", 20),
    "INBOUND_BURST": env_int("REALTIME_INBOUND_BURST", 60),
    # Largest inbound frame in bytes; larger closes with 1009.
    "MAX_FRAME": 64 * 1024,
    # Open sockets one user may hold in one server process before 4429.
    "MAX_SOCKETS_PER_USER": env_int("REALTIME_MAX_SOCKETS_PER_USER", 50),
    # Streams one multiplexed socket may subscribe to.
    "MAX_STREAMS_PER_SOCKET": env_int("REALTIME_MAX_STREAMS_PER_SOCKET", 100),
    # Lifetime of a one-time WebSocket ticket, seconds (at most 30).
    "TICKET_TTL": min(env_int("WS_TICKET_TTL", 30), 30),
    # Seconds between checks of the outbox for events commit-time delivery could not publish.
    "OUTBOX_RELAY_INTERVAL": 1.0,
    # Seconds between two reconciles of every stream a process serves with its history (Redis
    # modes): whatever a transport lost, on a quiet stream too, is then filled or reset. 0: off.
    "RECONCILE_INTERVAL": env_float("REALTIME_RECONCILE_INTERVAL", 5.0),
    # Seconds between two reports of a server process's figures to the operations page (/ops/).
    "OPS_REPORT_INTERVAL": env_float("REALTIME_OPS_REPORT_INTERVAL", 2.0),
}
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS")

# --- Presence (streams declared with presence=True; docs/presence.md) ------------------------
PRESENCE = {
    # Seconds a closed connection still counts, so that a page reload does not flap.
    "GRACE": env_int("PRESENCE_GRACE", 5),
    # Seconds a connection lives in Redis without a touch (its process touches it every third).
    "EXPIRY": env_int("PRESENCE_EXPIRY", 30),
    # Seconds between sweeps for the expired connections of dead processes (one process sweeps).
    "SWEEP_INTERVAL": env_int("PRESENCE_SWEEP_INTERVAL", 10),
    # Members listed per stream; past it presence.state gives counts and joins/leaves stop.
    "MAX_MEMBERS": env_int("PRESENCE_MAX_MEMBERS", 500),
}
if not 0 <= PRESENCE["GRACE"] <= 8:
    raise ImproperlyConfigured("PRESENCE_GRACE must be 0 to 8 seconds: a clean close's leave is due within 10 s")
if PRESENCE["EXPIRY"] < 3 or PRESENCE["SWEEP_INTERVAL"] < 1 or PRESENCE["EXPIRY"] + PRESENCE["SWEEP_INTERVAL"] > 55:
    raise ImproperlyConfigured(
        "PRESENCE_EXPIRY (at least 3) plus PRESENCE_SWEEP_INTERVAL (at least 1) must be at most 55 seconds:"
        " the members of a dead process leave within 60 s"
    )
if PRESENCE["MAX_MEMBERS"] < 1:
    raise ImproperlyConfigured("PRESENCE_MAX_MEMBERS must be at least 1")

# --- Server-Sent Events and background-job progress ------------------------------------------
SSE = {
    # Seconds between `: keep-alive` comment lines on an SSE response (proxies drop idle ones).
    "KEEPALIVE": env_int("SSE_KEEPALIVE_SECONDS", 10),
}
PROGRESS = {
    # Progress frames per job per second at most; start, warnings, errors and completion always go.
    "MAX_UPDATES_PER_SECOND": env_int("PROGRESS_MAX_UPDATES_PER_SECOND", 10),
    # Largest `total_items` a job may ask for.
    "MAX_ITEMS": env_int("PROGRESS_MAX_ITEMS", 100_000),
    # A pause after each item, in milliseconds: 0 in production; demos and tests slow jobs down to watch them.
    "ITEM_DELAY_MS": env_int("PROGRESS_ITEM_DELAY_MS", 0),
}
# Where jobs write their files (the EDI inbox, CSV reports).
PROGRESS_WORK_DIR = Path(os.environ.get("PROGRESS_WORK_DIR") or Path(tempfile.gettempdir()) / "syncline-jobs")
# The server-rendered pages (/jobs/) sign in with Django's login page.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/jobs/"

# --- Front end -----------------------------------------------------------------------------
# The built demo app served at /app/ (`cd frontend && npm ci && npm run build`).
FRONTEND_DIST = Path(os.environ.get("FRONTEND_DIST") or REPO_DIR / "frontend" / "demo" / "dist")

# --- HTTP API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(seconds=env_int("JWT_ACCESS_TTL", 900)),
    "REFRESH_TOKEN_LIFETIME": __import__("datetime").timedelta(days=1),
    "UPDATE_LAST_LOGIN": False,
}
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "apps.realtime.redaction.RedactTokens"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # LOG_FORMAT=json: one JSON object per line, for log shippers (config/logging.py).
            "formatter": "json" if os.environ.get("LOG_FORMAT") == "json" else "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
# Celery workers log through the handlers above (format, token redaction) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- One log line per request -----------------------------------------------------------------
# Daphne's access log (config/logging.py, on unless ACCESS_LOG=0) has a line for every response
# with its status; Django's `django.request` logger would add a WARNING for each 4xx ("Not
# Found: /x"). Behind that access log, keep django.request for errors only (a 5xx still logs its
# traceback there); without it (ACCESS_LOG=0, or uvicorn, which runs with none) it is the one
# line a 4xx gets, and stays.
if env_bool("ACCESS_LOG", True) and os.environ.get("ASGI_SERVER", "daphne") == "daphne":
    LOGGING["loggers"]["django.request"] = {"level": "ERROR"}
# Django's default logging adds a console handler of its own to the `django` logger with DEBUG
# on, which printed each of its records a second time (unformatted, and without the token
# redaction): let them reach the root handler above only.
LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO"}

# --- HTTPS redirect (production.py turns it on from SECURE_SSL_REDIRECT) -----------------------
# Probes and scrapers often call over plain http from inside the network: answer, not 301.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- The site's own pages ------------------------------------------------------------------------
# The favicon (backend/static/), for the Django pages, the admin and /favicon.ico.
STATICFILES_DIRS = [BASE_DIR / "static"]
# Signing out of the Django pages (and the admin) lands on the sign-in page, not the admin's
# "Logged out" page.
LOGOUT_REDIRECT_URL = "login"

# --- OpenAPI schema -----------------------------------------------------------------------
# `/api/schema/` (YAML, `?format=json`) and `/api/docs/` (Swagger UI, its assets served from
# drf-spectacular-sidecar, not a CDN). apps/core/schema.py documents the error answers.
INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "apps.core.schema.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "Syncline API",
    "DESCRIPTION": "The HTTP API of Syncline. Errors: docs/api.md; events and sockets: docs/protocol.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Inputs and answers are separate components: a read-only field is not part of an input.
    "COMPONENT_SPLIT_REQUEST": True,
    # Clients send JSON; the form parsers stay for the browsable tests but are not the API.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SCHEMA_PATH_PREFIX": "/api/",
    # `<id:pk>` (apps.core.api.IdConverter): at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "apps.core.schema.postprocess"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
