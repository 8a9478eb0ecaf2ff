"""Writes to crates. Each publishes `crate.updated` and records the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.audit.services import AuditedModel
from apps.storage.models import StorageLocation

from .events import CrateUpdated
from .models import Crate
from .serializers import CrateSerializer
from .streams import unit_crates

CRATES = AuditedModel(
    fields=("code", "description", "storage"), stream=unit_crates, event=CrateUpdated, serializer=CrateSerializer
)


@transaction.atomic
def crate_create(
    *, actor: Any, unit_id: int, code: str, description: str = "", storage: StorageLocation | None = None
) -> Crate:
    crate = Crate(unit_id=unit_id, code=code, description=description, storage=storage)
    CRATES.save(crate, actor=actor, action="created")
    return crate


@transaction.atomic
def crate_update(*, actor: Any, crate: Crate, **fields: Any) -> Crate:
    """Change some of `code`, `description`, `storage`; a change to nothing saves and publishes nothing."""
    before = CRATES.snapshot(crate)
    for key, value in fields.items():
        if key not in CRATES.fields:
            raise ValueError(f"{key} is not an editable field of a crate")
        setattr(crate, key, value)
    CRATES.save(crate, actor=actor, action="updated", before=before)
    return crate


@transaction.atomic
def crate_relocate(*, actor: Any, crate: Crate, storage: StorageLocation) -> Crate:
    if storage.unit_id != crate.unit_id:
        raise ValidationError({"storage": ["must be a storage location of the crate's unit"]})
    before = CRATES.snapshot(crate)
    crate.storage = storage
    CRATES.save(crate, actor=actor, action="relocated", before=before)
    return crate
