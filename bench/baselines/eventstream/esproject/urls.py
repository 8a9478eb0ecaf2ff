"""Routes: the SSE stream (`?channel=unit-<id>`), the publish view and a health check."""

import django_eventstream
from django.urls import include, path

from esproject import views

urlpatterns = [
    path("events/", include(django_eventstream.urls)),
    path("send/", views.event_send),
    path("healthz", views.healthz),
]
