"""`seed_load`: units, members with roles and access tokens for the benchmark, idempotent."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Membership, Unit, User


def seed(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "tokens.json"
    call_command("seed_load", "--units", "3", "--users-per-unit", "2", "--out", str(out), *extra, stderr=io.StringIO())
    return json.loads(out.read_text())


@pytest.mark.django_db
def test_seed_load_creates_units_members_and_tokens(tmp_path: Path, settings: Any) -> None:
    settings.DEBUG = True
    document = seed(tmp_path, "--ttl", "7200")
    assert [u["name"] for u in document["units"]] == ["load-unit-0001", "load-unit-0002", "load-unit-0003"]
    for unit in document["units"]:
        assert Unit.objects.get(pk=unit["id"]).name == unit["name"]
        assert [m["role"] for m in unit["members"]] == ["admin", "approver"]
        for member in unit["members"]:
            token = AccessToken(member["access"])  # type: ignore[arg-type]
            assert int(token["user_id"]) == member["user_id"]
            assert abs(token["exp"] - document["expires_at"]) <= 60
            membership = Membership.objects.get(user_id=member["user_id"])
            assert (membership.unit_id, membership.role) == (unit["id"], member["role"])
    assert User.objects.get(username="load-0001-001").check_password("load-pass-123")


@pytest.mark.django_db
def test_a_second_run_creates_nothing_and_issues_new_tokens(tmp_path: Path, settings: Any) -> None:
    settings.DEBUG = True
    first = seed(tmp_path)
    counts = (Unit.objects.count(), User.objects.count(), Membership.objects.count())
    Membership.objects.filter(user__username="load-0002-002").update(role="requester")  # drifted
    second = seed(tmp_path)
    assert (Unit.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    assert Membership.objects.get(user__username="load-0002-002").role == "approver"
    ids = [[(m["user_id"], m["role"]) for m in u["members"]] for u in first["units"]]
    assert ids == [[(m["user_id"], m["role"]) for m in u["members"]] for u in second["units"]]
    first_tokens = {m["access"] for u in first["units"] for m in u["members"]}
    assert first_tokens.isdisjoint(m["access"] for u in second["units"] for m in u["members"])


@pytest.mark.django_db
def test_seed_load_refuses_without_debug_unless_forced(tmp_path: Path, settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="with DEBUG off pass --force"):
        seed(tmp_path)
    assert not Unit.objects.exists()
    assert len(seed(tmp_path, "--force")["units"]) == 3


@pytest.mark.django_db
def test_seed_load_writes_to_stdout_without_out(settings: Any) -> None:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_load", "--units", "1", "--users-per-unit", "4", stdout=out, stderr=io.StringIO())
    roles = [m["role"] for m in json.loads(out.getvalue())["units"][0]["members"]]
    assert roles == ["admin", "approver", "store_head", "requester"]
