"""Recording the audit trail. Every service that changes a request, crate or storage calls it."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.realtime.publish import publish_on_commit

from .events import AuditCreated
from .models import AuditEntry
from .serializers import AuditEntrySerializer
from .streams import unit_audit


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for the fields that changed."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


def snapshot(obj: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, f"{name}_id" if obj._meta.get_field(name).is_relation else name) for name in fields}


def audit_record(*, actor: Any, unit_id: int, action: str, obj: models.Model, changes: dict[str, Any]) -> AuditEntry:
    entry = AuditEntry.objects.create(
        unit_id=unit_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.model_name or "",
        object_id=obj.pk,
        changes=changes,
    )
    publish_on_commit(
        unit_audit.name(unit_id=unit_id),
        AuditCreated(
            action="created",
            object_id=entry.pk,
            data=dict(AuditEntrySerializer(entry).data),
            updated_by=entry.actor.username if entry.actor else None,
        ),
    )
    return entry
