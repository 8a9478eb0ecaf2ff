from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import views

urlpatterns = [
    path("token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("ws-ticket/", views.WsTicketApi.as_view(), name="ws_ticket"),
    path("me/", views.MeApi.as_view(), name="me"),
]
