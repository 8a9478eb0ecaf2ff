"""The Celery app. With no broker configured (embedded mode) tasks run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("syncline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
