"""Reads about who may see what. Stream permissions and API views both use these."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Membership, Unit, User

Role = Membership.Role


def unit_role(user: Any, unit_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user_id=user.pk, unit_id=unit_id).values_list("role", flat=True).first()


def user_is_unit_member(user: Any, unit_id: int) -> bool:
    return unit_role(user, unit_id) is not None


def user_has_unit_role(user: Any, unit_id: int, roles: set[str]) -> bool:
    """Staff, or a member of the unit with one of `roles`."""
    if user.is_authenticated and user.is_staff:
        return True
    return unit_role(user, unit_id) in roles


def user_can_read_storage(user: Any, unit_id: int) -> bool:
    return user_has_unit_role(user, unit_id, {Role.ADMIN})


def user_can_read_audit(user: Any, unit_id: int) -> bool:
    return user_has_unit_role(user, unit_id, {Role.ADMIN, Role.APPROVER})


def user_unit_ids(user: Any) -> list[int]:
    return list(Membership.objects.filter(user_id=user.pk).values_list("unit_id", flat=True))


def unit_members(unit_id: int, roles: set[str] | None = None) -> QuerySet[User]:
    members = User.objects.filter(memberships__unit_id=unit_id, is_active=True)
    return members.filter(memberships__role__in=roles) if roles else members


def units_of(user: Any) -> QuerySet[Unit]:
    return Unit.objects.filter(memberships__user_id=user.pk).order_by("pk")
