"""Submission payloads (API and events) and inputs."""

from typing import Any

from rest_framework import serializers

from apps.core.api import StrictInput

from .models import Submission


class SubmissionSerializer(StrictInput, serializers.ModelSerializer[Submission]):
    student: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    mentor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Submission
        fields = ("id", "student", "mentor", "title", "score", "status", "created_at", "updated_at", "graded_at")
        read_only_fields = ("score", "status", "created_at", "updated_at", "graded_at")


class GradeSerializer(StrictInput):
    # The 0-100 range is the service's rule (submission_grade), checked after who may grade.
    score = serializers.IntegerField()


class SubmissionFilters(serializers.Serializer[Any]):
    """`GET /api/academy/submissions/?status=`."""

    status = serializers.ChoiceField(choices=Submission.Status.choices, required=False, allow_blank=True)


class LeaderboardEntrySerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField(allow_null=True)
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    graded = serializers.IntegerField()


class LeaderboardSerializer(serializers.Serializer[Any]):
    """The ranking `selectors.leaderboard()` gives, as `GET /api/academy/leaderboard/` answers it."""

    entries = LeaderboardEntrySerializer(many=True)
