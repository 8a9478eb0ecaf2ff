"""Idempotent demo data (units, users, storage, crates, requests). See README."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import Membership, Unit, User
from apps.documents.models import Crate
from apps.requests.models import Request
from apps.sales.demo import seed_invoices
from apps.storage.models import StorageLocation

PASSWORD = "demo-pass-123"  # noqa: S105 - the documented demo password
# username: (unit, unit role, platform role, staff)
USERS: dict[str, tuple[str | None, str | None, str, bool]] = {
    "alice": ("North", "approver", "", False),
    "bob": ("North", "requester", "", False),
    "sam": ("North", "store_head", "", False),
    "nina": ("North", "admin", "", False),
    "carol": ("South", "approver", "", False),
    "dan": ("South", "requester", "", False),
    "admin": (None, None, "", True),
    "mentor": (None, None, "mentor", False),
    "stella": (None, None, "student", False),
    "sid": (None, None, "student", False),
}


class Command(BaseCommand):
    help = "Create the demo units, users (password demo-pass-123) and records. Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    @transaction.atomic
    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with a known password; with DEBUG off pass --force")
        units = {name: Unit.objects.get_or_create(name=name)[0] for name in ("North", "South")}
        users: dict[str, User] = {}
        for username, (unit_name, unit_role, role, staff) in USERS.items():
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.role, user.is_staff, user.is_superuser = role, staff, staff
            if created:
                user.set_password(PASSWORD)
            user.save()
            users[username] = user
            if unit_name and unit_role:
                Membership.objects.update_or_create(user=user, unit=units[unit_name], defaults={"role": unit_role})
        User.objects.filter(username__in=["stella", "sid"]).update(mentor=users["mentor"])
        for unit in units.values():
            self._records(unit, requester=users["bob" if unit.name == "North" else "dan"])
        seed_invoices()
        self.stdout.write(self.style.SUCCESS(f"demo data ready; every demo user's password is {PASSWORD}"))

    def _records(self, unit: Unit, requester: User) -> None:
        prefix = unit.name[0]
        shelves = [
            StorageLocation.objects.get_or_create(
                unit=unit, name=f"{unit.name} {label}", defaults={"location": f"Building {i + 1}", "capacity": 100}
            )[0]
            for i, label in enumerate(("Basement A", "Archive Room"))
        ]
        crates = [
            Crate.objects.get_or_create(
                unit=unit,
                code=f"{prefix}-{n:04d}",
                defaults={"description": f"Files box {n}", "storage": shelves[n % 2]},
            )[0]
            for n in range(1, 5)
        ]
        if Request.objects.filter(unit=unit).exists():
            return
        states = [
            ("storage", Request.Status.PENDING),
            ("withdrawal", Request.Status.APPROVED),
            ("destruction", Request.Status.REJECTED),
            ("withdrawal", Request.Status.ISSUED),
        ]
        for n, (kind, state) in enumerate(states):
            Request.objects.create(
                unit=unit,
                request_type=kind,
                title=f"{kind.title()} of {crates[n].code}",
                crate=crates[n],
                status=state,
                requester=requester,
                reason="Kept by law" if state == Request.Status.REJECTED else "",
            )
