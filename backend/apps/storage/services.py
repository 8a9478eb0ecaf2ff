"""Writes to storage locations. Each publishes `storage.updated` and records the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.services import audit_record, diff, snapshot
from apps.realtime.publish import publish_on_commit

from .events import StorageUpdated
from .models import StorageLocation
from .serializers import StorageLocationSerializer
from .streams import unit_storage

FIELDS = ("name", "location", "capacity")


def _publish(storage: StorageLocation, action: str, actor: Any, changes: dict[str, Any]) -> None:
    publish_on_commit(
        unit_storage.name(unit_id=storage.unit_id),
        StorageUpdated(
            action=action,
            object_id=storage.pk,
            data=dict(StorageLocationSerializer(storage).data),
            updated_by=actor.username,
        ),
    )
    audit_record(actor=actor, unit_id=storage.unit_id, action=action, obj=storage, changes=changes)


@transaction.atomic
def storage_create(
    *, actor: Any, unit_id: int, name: str, location: str = "", capacity: int | None = None
) -> StorageLocation:
    storage = StorageLocation.objects.create(unit_id=unit_id, name=name, location=location, capacity=capacity)
    _publish(storage, "created", actor, diff({}, snapshot(storage, FIELDS)))
    return storage


@transaction.atomic
def storage_update(*, actor: Any, storage: StorageLocation, **fields: Any) -> StorageLocation:
    before = snapshot(storage, FIELDS)
    for key, value in fields.items():
        if key not in FIELDS:
            raise ValueError(f"{key} is not an editable field of a storage location")
        setattr(storage, key, value)
    storage.save()
    _publish(storage, "updated", actor, diff(before, snapshot(storage, FIELDS)))
    return storage
