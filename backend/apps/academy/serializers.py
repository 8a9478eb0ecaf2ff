"""Submission payloads (API and events) and inputs."""

from typing import Any

from rest_framework import serializers

from .models import Submission


class SubmissionSerializer(serializers.ModelSerializer[Submission]):
    student: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    mentor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Submission
        fields = ("id", "student", "mentor", "title", "score", "status", "created_at", "updated_at", "graded_at")
        read_only_fields = ("score", "status", "created_at", "updated_at", "graded_at")


class GradeSerializer(serializers.Serializer[Any]):
    # The 0-100 range is the service's rule (submission_grade), checked after who may grade.
    score = serializers.IntegerField()
