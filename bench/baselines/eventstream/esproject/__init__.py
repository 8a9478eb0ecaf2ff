"""The django-eventstream baseline: SSE from one Daphne process, `send_event` from a view."""
