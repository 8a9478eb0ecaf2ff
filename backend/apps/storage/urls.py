from django.urls import path

from . import views

urlpatterns = [
    path("", views.StorageListApi.as_view(), name="storage-list"),
    path("<id:pk>/", views.StorageDetailApi.as_view(), name="storage-detail"),
]
