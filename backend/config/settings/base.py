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

from apps.progress import conf as progress_conf
from apps.realtime import conf as realtime_conf
from apps.realtime import redis_config

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
# A process serves HTTP requests on HTTP_THREADS threads (apps/realtime/http.py), the real-time
# paths' database calls on four more (apps/realtime/db.py). Under CONN_MAX_AGE=0 a request
# opens a connection (7-8 ms on the machine of docs/performance.md, and a Postgres backend
# forked per request): on Postgres, Django's pool (psycopg_pool) hands connections from
# thread to thread; DB_POOL is its size per process, 0 for a connection per request.
HTTP_THREADS = env_int("HTTP_THREADS", 10)
if HTTP_THREADS < 1:
    raise ImproperlyConfigured(f"HTTP_THREADS must be 1 or more, got {HTTP_THREADS}")
DB_POOL = env_int("DB_POOL", 10)
_postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if _postgres and DB_POOL > 0 and not DATABASES["default"]["CONN_MAX_AGE"]:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection as it hands it out
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": DB_POOL,
        "timeout": 10,  # a request waits this long for a free connection, then fails
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
    # The request threads live as long as the process: each keeps its connection rather
    # than open one per request (8% of a POST's profile, docs/performance.md, "The sixth pass").
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
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
# Each URL is redis://, rediss://, unix:// or redis+sentinel://host:port[,host:port...]/<master>[/<db>]
# (apps/realtime/redis_config.py reads them; one it cannot read stops the process here).
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "syncline")
REDIS = redis_config.parse(REDIS_URL) if REDIS_URL else None
# The servers (or Sentinel groups) the streams are spread over, by stream name: a stream's
# history and transport live on one of them. Every process lists the same URLs in the same order.
REALTIME_REDIS_URLS = (
    [t.url for t in redis_config.parse_list(os.environ.get("REALTIME_REDIS_URLS") or REDIS_URL)] if REDIS_URL else []
)
if os.environ.get("REALTIME_REDIS_URLS") and not REDIS_URL:
    raise ImproperlyConfigured("REALTIME_REDIS_URLS needs REDIS_URL too (the cache's and Celery's Redis)")

CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER") or (realtime_conf.DEFAULT_LAYER_WITH_REDIS if REDIS_URL else "memory")
if CHANNEL_LAYER not in realtime_conf.CHANNEL_LAYERS_MODES:
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be memory, redis or pubsub, got {CHANNEL_LAYER!r}")
if CHANNEL_LAYER != "memory" and not REDIS_URL:
    raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER} needs REDIS_URL")


def channel_layers_for(mode: str, urls: str | list[str], prefix: str) -> dict[str, Any]:
    """CHANNEL_LAYERS for a mode: `memory`, `redis` (RedisChannelLayer) or `pubsub`. One
    layer per Redis of `urls` (aliases `default`, `shard1`, ...): everything of a stream,
    its group and the messages to the processes listening, stays on the stream's Redis."""
    if mode == "memory":
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    targets = redis_config.parse_list(urls if isinstance(urls, str) else ",".join(urls))
    layers = {}
    for index, target in enumerate(targets):
        hosts = [target.layer_host()]
        if mode == "redis":
            # One message per process per event reaches each process's hub channel, so its
            # queue must hold a burst; the hub detects and fills any gap anyway.
            capacity = env_int("REALTIME_LAYER_CAPACITY", 10_000)
            config = {"hosts": hosts, "prefix": f"{prefix}:layer:", "capacity": capacity}
            backend = "channels_redis.core.RedisChannelLayer"
        else:
            config = {"hosts": hosts, "prefix": f"{prefix}:layer"}
            backend = "channels_redis.pubsub.RedisPubSubChannelLayer"
        layers[redis_config.layer_alias(index)] = {"BACKEND": backend, "CONFIG": config}
    return layers


CHANNEL_LAYERS = channel_layers_for(CHANNEL_LAYER, REALTIME_REDIS_URLS, REDIS_PREFIX)

if REDIS is not None:
    CACHES = {"default": REDIS.cache(f"{REDIS_PREFIX}:cache")}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
# Embedded mode (no broker): tasks run in a thread pool of the calling process, after
# commit, so the request that started them returns at once. With a Sentinel REDIS_URL the
# broker is kombu's `sentinel://h1:p;sentinel://h2:p` with the master's name in the options.
_broker, _broker_options = REDIS.celery() if REDIS is not None else ("", {})
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or _broker
CELERY_EMBEDDED = not CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
if not os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(_broker_options)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Real-time ----------------------------------------------------------------------------
# Every key, its default and what it does: apps/realtime/conf.py (docs/settings.md). Set
# only what differs, here or in the environment as REALTIME_<KEY> (REALTIME_HISTORY_SIZE=5000).
REALTIME: dict[str, Any] = realtime_conf.from_environment()
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS")

# --- Background-job progress -----------------------------------------------------------------
# Keys and defaults: apps/progress/conf.py. Set only what differs.
PROGRESS = {
    key: env_int(f"PROGRESS_{key}", default)
    for key, default in progress_conf.DEFAULTS.items()
    if os.environ.get(f"PROGRESS_{key}")
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
