from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class CrateUpdated(Event):
    type: ClassVar[str] = "crate.updated"
    entity: ClassVar[str] = "crate"
    description: ClassVar[str] = "A crate was created, edited or relocated (action `created`, `updated`, `relocated`)."
    example: ClassVar[dict[str, Any]] = {
        "action": "relocated",
        "object_id": 12,
        "updated_by": "sam",
        "data": {
            "id": 12,
            "unit": 1,
            "code": "N-0012",
            "description": "HR files 2019",
            "storage": 3,
            "updated_at": "2026-11-21T12:34:56.789Z",
        },
    }
