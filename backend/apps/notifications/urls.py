"""Routes of `/api/notifications/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.NotificationListApi.as_view(), name="notification-list"),
    path("<id:pk>/read/", views.NotificationReadApi.as_view(), name="notification-read"),
    path("broadcast/", views.BroadcastApi.as_view(), name="notification-broadcast"),
]
