"""HTTP routes: create an announcement, and a health check for the harness."""

from board import views
from django.urls import path

urlpatterns = [
    path("announcements/", views.announcement_create),
    path("healthz", views.healthz),
]
