"""Users, units (the tenants) and memberships with a role in a unit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    class Role(models.TextChoices):
        NONE = "", "none"
        MENTOR = "mentor", "mentor"
        STUDENT = "student", "student"

    # Platform-wide role (the academy); unit roles live on Membership.
    role = models.CharField(max_length=16, choices=Role.choices, blank=True, default="")
    mentor = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="students")


class Unit(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        REQUESTER = "requester", "requester"
        APPROVER = "approver", "approver"
        STORE_HEAD = "store_head", "store head"
        ADMIN = "admin", "unit admin"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REQUESTER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="one_membership_per_unit")]

    def __str__(self) -> str:
        return f"{self.user} in {self.unit} as {self.role}"
