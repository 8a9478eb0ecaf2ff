"""Writes to storage locations. Each publishes `storage.updated` and records the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.services import AuditedModel

from .events import StorageUpdated
from .models import StorageLocation
from .serializers import StorageLocationSerializer
from .streams import unit_storage

STORAGE = AuditedModel(
    fields=("name", "location", "capacity"),
    stream=unit_storage,
    event=StorageUpdated,
    serializer=StorageLocationSerializer,
)


@transaction.atomic
def storage_create(
    *, actor: Any, unit_id: int, name: str, location: str = "", capacity: int | None = None
) -> StorageLocation:
    storage = StorageLocation(unit_id=unit_id, name=name, location=location, capacity=capacity)
    STORAGE.save(storage, actor=actor, action="created")
    return storage


@transaction.atomic
def storage_update(*, actor: Any, storage: StorageLocation, **fields: Any) -> StorageLocation:
    """Change some of `name`, `location`, `capacity`; a change to nothing saves and publishes nothing."""
    before = STORAGE.snapshot(storage)
    for key, value in fields.items():
        if key not in STORAGE.fields:
            raise ValueError(f"{key} is not an editable field of a storage location")
        setattr(storage, key, value)
    STORAGE.save(storage, actor=actor, action="updated", before=before)
    return storage
