from django.urls import path

from . import views

urlpatterns = [
    path("crates/", views.CrateListApi.as_view(), name="crate-list"),
    path("crates/<id:pk>/", views.CrateDetailApi.as_view(), name="crate-detail"),
    path("crates/<id:pk>/relocate/", views.CrateRelocateApi.as_view(), name="crate-relocate"),
]
