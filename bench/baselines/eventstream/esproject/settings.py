"""Settings of the django-eventstream baseline: no storage, no Redis, no database.

Without `EVENTSTREAM_REDIS` and `EVENTSTREAM_STORAGE_CLASS`, `send_event` hands the event to
the listeners of this process, which is the documented single-process setup.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-eventstream-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "daphne",
    "django_eventstream",
]

MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "esproject.urls"
ASGI_APPLICATION = "esproject.asgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
