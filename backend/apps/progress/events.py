from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class ProgressUpdated(Event):
    type: ClassVar[str] = "progress.updated"
    entity: ClassVar[str] = "job"
    description: ClassVar[str] = (
        "A background job moved. `action`: start, progress (at most ~10 a second per job), warning (an item "
        "failed; the job goes on), complete, error (the job stopped). `current`/`total` are items, `percent` "
        "0-100 never goes backwards; `status` is pending, started, completed or failed. A subscriber first "
        "gets the job's latest event."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "progress",
        "object_id": "5f0c6f9e-3b8a-4d8e-9a51-0c1c2f4b7d10",
        "current": 120,
        "total": 200,
        "percent": 60.0,
        "status": "started",
        "message": "Sent 118 of 200 invoice emails",
        "updated_by": "alice",
        "data": {
            "job_id": "5f0c6f9e-3b8a-4d8e-9a51-0c1c2f4b7d10",
            "task_type": "email_sending",
            "status": "started",
            "total_items": 200,
            "processed_items": 120,
            "failed_items": 2,
            "success_count": 118,
            "percent": 60.0,
            "message": "Sent 118 of 200 invoice emails",
            "metadata": {"warnings": ["INV-1003: Walk-in customer has no email address"]},
            "created_at": "2026-11-21T12:34:50.000Z",
            "started_at": "2026-11-21T12:34:50.120Z",
            "completed_at": None,
        },
    }

    current: int
    total: int
    percent: float
    status: str
    message: str
