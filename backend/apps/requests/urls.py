from django.urls import path

from . import views

urlpatterns = [
    path("", views.RequestListApi.as_view(), name="request-list"),
    path("<id:pk>/", views.RequestDetailApi.as_view(), name="request-detail"),
    *[
        path(f"<id:pk>/{name}/", views.RequestActionApi.as_view(service=service, body=body), name=f"request-{name}")
        for name, (service, body) in views.ACTIONS.items()
    ],
    *[
        path(f"{kind}/update/", views.RequestUpdateApi.as_view(request_type=kind), name=f"request-{kind}-update")
        for kind in ("storage", "withdrawal", "destruction")
    ],
]
