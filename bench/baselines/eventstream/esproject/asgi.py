"""ASGI entry point: plain Django; the SSE endpoint is an async streaming view."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esproject.settings")
application = get_asgi_application()
