from typing import Any

from rest_framework import serializers

from apps.core.api import IdField, StrictInput
from apps.realtime.streams import resolve


class DisconnectIn(StrictInput):
    user = IdField(help_text="The id of the user whose connections end.")


class DisconnectOut(serializers.Serializer[Any]):
    user = serializers.IntegerField()
    detail = serializers.CharField()


class EventsQuery(serializers.Serializer[Any]):
    """`GET /api/ops/events/?stream=<name>[&limit=N]`."""

    stream = serializers.CharField(help_text="A declared stream name, e.g. requests.unit.1.")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=20)

    def validate_stream(self, name: str) -> Any:
        """The stream and its parameters (`streams.resolve`)."""
        found = resolve(name)
        if found is None:
            raise serializers.ValidationError("a declared stream name is required, e.g. requests.unit.1")
        return found


class EventsOut(serializers.Serializer[Any]):
    stream = serializers.CharField()
    events = serializers.ListField(child=serializers.DictField())


class TokenOut(serializers.Serializer[Any]):
    access = serializers.CharField()
