"""
Publishes N events the way a Celery task does: synchronous code in the main thread of a
process started like a worker (cwd backend/, the worker's environment, `config.celery`
loaded), in Redis mode. After every `every` events it prints `published <n>` and waits for
a line on stdin, so the test can count this process's Redis connections and file
descriptors at that point.

    python tests/notifications/publish_loop.py 10000 1000   (cwd backend/)
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.getcwd())  # backend/, as `celery -A config worker` run there has it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

from config.celery import app  # noqa: F401  the worker's app, as `celery -A config` loads it

django.setup()

from apps.notifications.events import NotificationBroadcast  # noqa: E402
from apps.notifications.streams import all_notifications  # noqa: E402
from apps.realtime.publish import publish  # noqa: E402


def main(total: int, every: int) -> None:
    stream = all_notifications.name()
    for n in range(1, total + 1):
        publish(stream, NotificationBroadcast(action="created", object_id=f"load-{n}", data={"n": n}))
        if n % every == 0:
            print(f"published {n}", flush=True)
            sys.stdin.readline()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
