"""
The ASGI entry point: HTTP to Django and DRF (a sync view's request in one hop to a pool
thread, apps/realtime/http.py); WebSocket through Origin validation, then
authentication (ticket, token, bearer subprotocol, session), then the routes generated
from the stream registry; lifespan (uvicorn) starts the real-time hub. The real-time
system checks run first.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Django must be set up before anything imports models (routing, consumers).
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.realtime.checks import raise_on_errors  # noqa: E402

# Daphne and uvicorn run no system checks: a server whose real-time settings or
# declarations cannot work stops here, saying what is wrong (manage.py check says it too).
raise_on_errors()

from apps.ops.services import start_reporter  # noqa: E402
from apps.realtime.auth import OriginValidator, RealtimeAuthMiddleware  # noqa: E402
from apps.realtime.http import AsgiHandler  # noqa: E402
from apps.realtime.hub import lifespan  # noqa: E402
from apps.realtime.relay import start_relay  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402
from apps.realtime.sse import with_send  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": with_send(AsgiHandler()),
        "websocket": OriginValidator(RealtimeAuthMiddleware(URLRouter(websocket_urlpatterns()))),
        "lifespan": lifespan,
    }
)
start_relay()
start_reporter()
