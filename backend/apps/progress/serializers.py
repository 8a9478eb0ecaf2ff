from typing import Any

from rest_framework import serializers

from apps.core.api import StrictInput

from .conf import progress_setting
from .models import Job


class JobSerializer(serializers.ModelSerializer[Job]):
    percent = serializers.FloatField(read_only=True)

    class Meta:
        model = Job
        fields = (
            "job_id",
            "task_type",
            "status",
            "total_items",
            "processed_items",
            "failed_items",
            "success_count",
            "percent",
            "message",
            "metadata",
            "created_at",
            "started_at",
            "completed_at",
        )
        read_only_fields = fields


class JobStartSerializer(StrictInput):
    task_type = serializers.ChoiceField(choices=Job.TaskType.choices)
    total_items = serializers.IntegerField(min_value=1)

    def validate_total_items(self, value: int) -> int:
        limit = progress_setting("MAX_ITEMS")
        if value > limit:
            raise serializers.ValidationError(f"at most {limit} items")
        return value


class JobStartedSerializer(serializers.Serializer[Any]):
    """The 202 answer to a job start."""

    job_id = serializers.UUIDField()
    total = serializers.IntegerField()
