"""Routes of `/api/dashboard/`."""

from django.urls import path

from . import views

urlpatterns = [path("", views.DashboardApi.as_view(), name="dashboard")]
