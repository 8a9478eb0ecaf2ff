"""
Recording the audit trail, and the one way to publish a change to a request, crate or
storage location: `AuditedModel.save()` saves the object, publishes its event and records
the audit entry, all after commit, or does nothing when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from rest_framework import serializers

from apps.core.api import represent
from apps.realtime.events import Event
from apps.realtime.publish import publish_on_commit
from apps.realtime.streams import Stream

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
            data=represent(AuditEntrySerializer, entry),
            updated_by=entry.actor.username if entry.actor else None,
        ),
    )
    return entry


@dataclass(frozen=True)
class AuditedModel:
    """
    How changes to one model of a unit are published and recorded, declared once in its
    app's services:

        CRATES = AuditedModel(fields=("code", ...), stream=unit_crates, event=CrateUpdated, serializer=CrateSerializer)

        before = CRATES.snapshot(crate)
        crate.code = "N-1"
        CRATES.save(crate, actor=actor, action="updated", before=before)

    `fields` are those the audit trail compares; the event goes to `stream` of the object's
    unit (and to the object's own stream, `own_stream(obj)`, where it has one), with the
    serializer's representation of the object as its `data`.
    """

    fields: tuple[str, ...]
    stream: Stream
    event: type[Event]
    serializer: type[serializers.BaseSerializer[Any]]
    own_stream: Callable[[Any], str] | None = None

    def streams(self, obj: Any) -> list[str]:
        """The names of the streams the object's events go to."""
        names = [self.stream.name(unit_id=obj.unit_id)]
        return names if self.own_stream is None else [*names, self.own_stream(obj)]

    def snapshot(self, obj: models.Model) -> dict[str, Any]:
        return snapshot(obj, self.fields)

    def save(self, obj: Any, *, actor: Any, action: str, before: dict[str, Any] | None = None, **event: Any) -> bool:
        """
        Save `obj` (new when `before` is None, else changed since the snapshot `before`),
        publish its event on commit (`event` gives the event's own fields, such as a
        request's `status`) and record the audit entry with what changed. An existing object
        whose fields are as they were is not saved, and nothing is published or recorded:
        returns False then.
        """
        changes = diff(before or {}, self.snapshot(obj))
        if before is not None and not changes:
            return False
        obj.save()
        published = self.event(
            action=action,
            object_id=obj.pk,
            data=represent(self.serializer, obj),
            updated_by=actor.username if actor is not None and actor.is_authenticated else None,
            **event,
        )
        for stream in self.streams(obj):
            publish_on_commit(stream, published)
        audit_record(actor=actor, unit_id=obj.unit_id, action=action, obj=obj, changes=changes)
        return True
