from django.urls import path

from . import views

urlpatterns = [
    path("", views.RequestListApi.as_view(), name="request-list"),
    path("<int:pk>/", views.RequestDetailApi.as_view(), name="request-detail"),
    path("<int:pk>/comments/", views.RequestCommentListApi.as_view(), name="request-comments"),
    *[
        path(f"<int:pk>/{name}/", views.RequestActionApi.as_view(action=action, body=body), name=f"request-{name}")
        for name, (action, body) in views.ACTIONS.items()
    ],
    *[
        path(f"{kind}/update/", views.RequestUpdateApi.as_view(request_type=kind), name=f"request-{kind}-update")
        for kind in ("storage", "withdrawal", "destruction")
    ],
]
