from typing import Any

from rest_framework import serializers

from .models import Membership, User


class MeSerializer(serializers.ModelSerializer[User]):
    units = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "username", "is_staff", "role", "units")

    def get_units(self, user: User) -> list[dict[str, Any]]:
        memberships = Membership.objects.filter(user=user).select_related("unit").order_by("unit_id")
        return [{"id": m.unit_id, "name": m.unit.name, "role": m.role} for m in memberships]


class TicketSerializer(serializers.Serializer[Any]):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField()
