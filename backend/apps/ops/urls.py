from django.urls import path, re_path

from . import views

api = [
    path("", views.OpsApi.as_view(), name="ops-snapshot"),
    path("events/", views.OpsEventsApi.as_view(), name="ops-events"),
    path("disconnect/", views.OpsDisconnectApi.as_view(), name="ops-disconnect"),
    path("token/", views.OpsTokenApi.as_view(), name="ops-token"),
]

page = [
    path("", views.OpsPage.as_view(), name="ops"),
    re_path(r"^client/(?P<path>[\w./-]+)$", views.client_file, name="ops-client"),
]
