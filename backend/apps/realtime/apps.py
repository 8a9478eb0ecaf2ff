from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RealtimeConfig(AppConfig):
    """The real-time plumbing: streams, events, publishing, history, fan-out, consumer, SSE."""

    name = "apps.realtime"
    label = "realtime"

    def ready(self) -> None:
        # Every app declares its events, streams and client-message handlers once, in
        # events.py, streams.py and messages.py.
        autodiscover_modules("events", "streams", "messages")
        from . import checks, health  # noqa: F401  # the system checks; the self-test's probe stream and event
