"""Routes of `/api/academy/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("submissions/", views.SubmissionListApi.as_view(), name="submission-list"),
    path("submissions/<id:pk>/grade/", views.SubmissionGradeApi.as_view(), name="submission-grade"),
    path("leaderboard/", views.LeaderboardApi.as_view(), name="leaderboard"),
]
