"""
The academy's workflow and its real-time helpers.

- `submission_create` (a student with a mentor): `submission.created` to the mentor's stream.
- `submission_grade` (the submission's mentor; 0-100; once): `submission.graded` to the
  student's stream, `leaderboard.updated`, and a personal notification to the student.

Both also refresh the dashboard (submissions waiting). The helpers `notify_mentor`,
`notify_student` and `update_leaderboard` are the one way to publish the academy's
events; call them from services, signals or background tasks (they publish after the
current transaction commits, at once outside one).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.accounts.models import User
from apps.core.api import Conflict, represent
from apps.dashboard.services import notify_dashboard
from apps.notifications.services import notify_user
from apps.realtime.publish import publish_on_commit

from .events import LeaderboardUpdated, SubmissionCreated, SubmissionGraded
from .models import Submission
from .selectors import leaderboard as leaderboard_data
from .serializers import SubmissionSerializer
from .streams import leaderboard, mentor_submissions, student_submissions

MIN_SCORE, MAX_SCORE = 0, 100


# -- helpers: the academy's events ------------------------------------------------------------
def notify_mentor(submission: Submission, *, actor: Any = None) -> None:
    """`submission.created` to the submission's mentor (`academy.mentor.<id>`)."""
    if submission.mentor_id is None:
        return
    publish_on_commit(
        mentor_submissions.name(mentor_id=submission.mentor_id),
        SubmissionCreated(
            action="created",
            object_id=submission.pk,
            status=submission.status,
            data=represent(SubmissionSerializer, submission),
            updated_by=_username(actor),
        ),
    )


def notify_student(submission: Submission, *, actor: Any = None) -> None:
    """`submission.graded` to the submission's student (`academy.student.<id>`)."""
    if submission.score is None:
        raise ValueError("notify_student announces a grade: the submission has no score")
    publish_on_commit(
        student_submissions.name(student_id=submission.student_id),
        SubmissionGraded(
            action="graded",
            object_id=submission.pk,
            status=submission.status,
            score=submission.score,
            data=represent(SubmissionSerializer, submission),
            updated_by=_username(actor),
        ),
    )


def update_leaderboard(*, actor: Any = None) -> None:
    """`leaderboard.updated` with the whole ranking as it is (read inside the current
    transaction, so it includes the caller's change)."""
    publish_on_commit(
        leaderboard.name(),
        LeaderboardUpdated(
            action="updated", object_id="students", data=leaderboard_data(), updated_by=_username(actor)
        ),
    )


def _username(actor: Any) -> str | None:
    return actor.username if actor is not None and actor.is_authenticated else None


# -- the workflow ---------------------------------------------------------------------------------
@transaction.atomic
def submission_create(*, actor: Any, title: str) -> Submission:
    if actor.role != User.Role.STUDENT:
        raise PermissionDenied("only students submit work")
    if actor.mentor_id is None:
        raise ValidationError("you have no mentor to grade your work yet")
    submission = Submission.objects.create(student=actor, mentor_id=actor.mentor_id, title=title)
    notify_mentor(submission, actor=actor)
    notify_dashboard()
    return submission


@transaction.atomic
def submission_grade(*, actor: Any, submission: Submission, score: int) -> Submission:
    """Grade once: 403 for anyone but the submission's mentor, 400 outside 0-100, 409 if graded."""
    if not actor.is_authenticated or submission.mentor_id != actor.pk:
        raise PermissionDenied("only the student's mentor grades this submission")
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ValidationError({"score": [f"must be between {MIN_SCORE} and {MAX_SCORE}"]})
    submission = Submission.objects.select_for_update().select_related("student", "mentor").get(pk=submission.pk)
    if submission.status == Submission.Status.GRADED:
        raise Conflict(f"this submission is already graded ({submission.score})")
    submission.score, submission.status, submission.graded_at = score, Submission.Status.GRADED, timezone.now()
    submission.save()
    notify_student(submission, actor=actor)
    update_leaderboard(actor=actor)
    notify_user(
        recipient=submission.student,
        title=f"{submission.title}: {score}/{MAX_SCORE}",
        body=f"{actor.username} graded your submission.",
        level="success",
        sender=actor,
    )
    notify_dashboard()
    return submission
