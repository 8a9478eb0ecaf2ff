"""Events of the academy: submissions to a mentor, grades to a student, the leaderboard."""

from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event

_SUBMISSION = {
    "id": 7,
    "student": "stella",
    "mentor": "mentor",
    "title": "Essay on archives",
    "score": None,
    "status": "waiting",
    "created_at": "2026-11-21T12:30:00.000Z",
    "updated_at": "2026-11-21T12:30:00.000Z",
    "graded_at": None,
}


@register_event
@dataclass(kw_only=True)
class SubmissionCreated(Event):
    type: ClassVar[str] = "submission.created"
    entity: ClassVar[str] = "submission"
    description: ClassVar[str] = "One of the mentor's students submitted work to grade (stream `academy.mentor.<id>`)."
    example: ClassVar[dict[str, Any]] = {
        "action": "created",
        "object_id": 7,
        "status": "waiting",
        "updated_by": "stella",
        "data": _SUBMISSION,
    }

    status: str


@register_event
@dataclass(kw_only=True)
class SubmissionGraded(Event):
    type: ClassVar[str] = "submission.graded"
    entity: ClassVar[str] = "submission"
    description: ClassVar[str] = (
        "The student's mentor graded a submission; `score` is 0-100 (stream `academy.student.<id>`)."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "graded",
        "object_id": 7,
        "status": "graded",
        "score": 87,
        "updated_by": "mentor",
        "data": {
            **_SUBMISSION,
            "score": 87,
            "status": "graded",
            "graded_at": "2026-11-21T12:34:56.789Z",
            "updated_at": "2026-11-21T12:34:56.789Z",
        },
    }

    status: str
    score: int


@register_event
@dataclass(kw_only=True)
class LeaderboardUpdated(Event):
    type: ClassVar[str] = "leaderboard.updated"
    entity: ClassVar[str] = "leaderboard"
    description: ClassVar[str] = (
        "A grade changed the students' ranking; `data` is the whole leaderboard, as "
        "`GET /api/academy/leaderboard/` returns it. `score` is a student's average over graded "
        "submissions; students without one come last with `score` and `rank` null; equal scores share a rank."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "updated",
        "object_id": "students",
        "updated_by": "mentor",
        "data": {
            "entries": [
                {"rank": 1, "user_id": 9, "username": "stella", "score": 87.0, "graded": 1},
                {"rank": None, "user_id": 10, "username": "sid", "score": None, "graded": 0},
            ]
        },
    }
