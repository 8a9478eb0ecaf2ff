"""Writes to crates. Each publishes `crate.updated` and records the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_record, diff, snapshot
from apps.realtime.publish import publish_on_commit
from apps.storage.models import StorageLocation

from .events import CrateUpdated
from .models import Crate
from .serializers import CrateSerializer
from .streams import unit_crates

FIELDS = ("code", "description", "storage")


def _publish(crate: Crate, action: str, actor: Any, changes: dict[str, Any]) -> None:
    publish_on_commit(
        unit_crates.name(unit_id=crate.unit_id),
        CrateUpdated(
            action=action, object_id=crate.pk, data=dict(CrateSerializer(crate).data), updated_by=actor.username
        ),
    )
    audit_record(actor=actor, unit_id=crate.unit_id, action=action, obj=crate, changes=changes)


@transaction.atomic
def crate_create(
    *, actor: Any, unit_id: int, code: str, description: str = "", storage: StorageLocation | None = None
) -> Crate:
    crate = Crate.objects.create(unit_id=unit_id, code=code, description=description, storage=storage)
    _publish(crate, "created", actor, diff({}, snapshot(crate, FIELDS)))
    return crate


@transaction.atomic
def crate_update(*, actor: Any, crate: Crate, **fields: Any) -> Crate:
    before = snapshot(crate, FIELDS)
    for key, value in fields.items():
        if key not in FIELDS:
            raise ValueError(f"{key} is not an editable field of a crate")
        setattr(crate, key, value)
    crate.save()
    _publish(crate, "updated", actor, diff(before, snapshot(crate, FIELDS)))
    return crate


@transaction.atomic
def crate_relocate(*, actor: Any, crate: Crate, storage: StorageLocation) -> Crate:
    if storage.unit_id != crate.unit_id:
        raise ValidationError({"storage": "must be a storage location of the crate's unit"})
    before = snapshot(crate, FIELDS)
    crate.storage = storage
    crate.save(update_fields=["storage", "updated_at"])
    _publish(crate, "relocated", actor, diff(before, snapshot(crate, FIELDS)))
    return crate
