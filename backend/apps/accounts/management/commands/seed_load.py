"""Load-test data: many units, each with members in every role, and an access token per member.

    manage.py seed_load --units 500 --users-per-unit 10 --out tokens.json [--ttl 86400] [--force]

Units are `load-unit-<n>`, members `load-<n>-<m>` (password load-pass-123); a second run with
the same numbers creates nothing and issues fresh tokens. The file (stdout without `--out`)
is what the benchmark reads to play every member with their own token:
`{"expires_at": <unix time>, "units": [{"id", "name", "members": [{"user_id", "username",
"role", "access"}]}]}`.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Membership, Unit, User

PASSWORD = "load-pass-123"  # noqa: S105 - the documented password of the load users
UNIT_PREFIX = "load-unit-"
# The first members of a unit take these roles, the others are requesters: every role is played.
LEADING_ROLES = [Membership.Role.ADMIN, Membership.Role.APPROVER, Membership.Role.STORE_HEAD]
BATCH = 500


def unit_name(n: int) -> str:
    return f"{UNIT_PREFIX}{n:04d}"


def username(n: int, m: int) -> str:
    return f"load-{n:04d}-{m:03d}"


def role_of(m: int) -> str:
    return LEADING_ROLES[m - 1] if m <= len(LEADING_ROLES) else Membership.Role.REQUESTER


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Create load-test units, members and access tokens (written to --out). Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--units", type=positive, required=True, help="how many units")
        parser.add_argument("--users-per-unit", type=positive, required=True, help="members per unit")
        parser.add_argument("--out", type=Path, default=None, help="the tokens file (default: stdout)")
        parser.add_argument("--ttl", type=positive, default=86_400, help="token lifetime in seconds (default 1 day)")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(
        self, *args: Any, units: int, users_per_unit: int, out: Path | None, ttl: int, force: bool, **_: Any
    ) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_load creates users with a known password; with DEBUG off pass --force")
        started = time.monotonic()
        with transaction.atomic():
            created = self._seed(units, users_per_unit)
        document = self._tokens(units, users_per_unit, ttl)
        text = json.dumps(document)
        if out is None:
            self.stdout.write(text)
        else:
            out.write_text(text)
        where = f" written to {out}" if out else ""
        self.stderr.write(
            f"{units} units x {users_per_unit} members ready ({created['units']} units, {created['users']} users, "
            f"{created['memberships']} memberships created) in {time.monotonic() - started:.1f} s; "
            f"tokens valid {ttl} s{where}"
        )

    def _seed(self, units: int, per_unit: int) -> dict[str, int]:
        names = [unit_name(n) for n in range(1, units + 1)]
        existing = set(Unit.objects.filter(name__startswith=UNIT_PREFIX).values_list("name", flat=True))
        new_units = [Unit(name=name) for name in names if name not in existing]
        Unit.objects.bulk_create(new_units, batch_size=BATCH)
        unit_ids = dict(Unit.objects.filter(name__startswith=UNIT_PREFIX).values_list("name", "id"))

        wanted = {
            username(n, m): (unit_ids[unit_name(n)], role_of(m))
            for n in range(1, units + 1)
            for m in range(1, per_unit + 1)
        }
        have = set(User.objects.filter(username__startswith="load-").values_list("username", flat=True))
        # One hash for every new user: hashing is slow by design, and the benchmark signs in with tokens.
        password = make_password(PASSWORD)
        new_users = [
            User(username=name, email=f"{name}@example.com", password=password) for name in wanted if name not in have
        ]
        User.objects.bulk_create(new_users, batch_size=BATCH)
        user_ids = dict(User.objects.filter(username__startswith="load-").values_list("username", "id"))

        memberships = {
            (m.user_id, m.unit_id): m
            for m in Membership.objects.filter(unit_id__in=unit_ids.values()).only("id", "user_id", "unit_id", "role")
        }
        to_create, to_update = [], []
        for name, (unit_id, role) in wanted.items():
            membership = memberships.get((user_ids[name], unit_id))
            if membership is None:
                to_create.append(Membership(user_id=user_ids[name], unit_id=unit_id, role=role))
            elif membership.role != role:
                membership.role = role
                to_update.append(membership)
        Membership.objects.bulk_create(to_create, batch_size=BATCH)
        Membership.objects.bulk_update(to_update, ["role"], batch_size=BATCH)
        return {"units": len(new_units), "users": len(new_users), "memberships": len(to_create)}

    def _tokens(self, units: int, per_unit: int, ttl: int) -> dict[str, Any]:
        unit_ids = dict(Unit.objects.filter(name__startswith=UNIT_PREFIX).values_list("name", "id"))
        users = {u.username: u for u in User.objects.filter(username__startswith="load-")}
        lifetime = timedelta(seconds=ttl)
        document: dict[str, Any] = {"expires_at": int(time.time()) + ttl, "units": []}
        for n in range(1, units + 1):
            members = []
            for m in range(1, per_unit + 1):
                user = users[username(n, m)]
                token = AccessToken.for_user(user)
                token.set_exp(lifetime=lifetime)
                members.append(
                    {"user_id": user.pk, "username": user.username, "role": role_of(m), "access": str(token)}
                )
            document["units"].append({"id": unit_ids[unit_name(n)], "name": unit_name(n), "members": members})
        return document
