"""Reads of the academy: the leaderboard and who sees which submissions."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet

from apps.accounts.models import User

from .models import Submission

# Students the leaderboard lists at most.
LEADERBOARD_SIZE = 100


def leaderboard() -> dict[str, Any]:
    """
    Active students ranked by `score`, the average score of their graded submissions
    (rounded to 0.1; more graded work breaks a tie in order, not in rank); students with
    nothing graded come last with `score` and `rank` null. Equal scores share a rank (1, 2, 2, 4).
    """
    graded = Q(submissions__status=Submission.Status.GRADED)
    students = (
        User.objects.filter(role=User.Role.STUDENT, is_active=True)
        .annotate(average=Avg("submissions__score", filter=graded), graded=Count("submissions", filter=graded))
        .order_by(F("average").desc(nulls_last=True), "-graded", "username")
        .values("pk", "username", "average", "graded")[:LEADERBOARD_SIZE]
    )
    entries: list[dict[str, Any]] = []
    rank: int | None = None
    previous: float | None = None
    for position, student in enumerate(students, start=1):
        score = None if student["average"] is None else round(float(student["average"]), 1)
        if score is None:
            rank = None
        elif score != previous:
            rank, previous = position, score
        entries.append(
            {
                "rank": rank,
                "user_id": student["pk"],
                "username": student["username"],
                "score": score,
                "graded": student["graded"],
            }
        )
    return {"entries": entries}


def visible_submissions(user: Any) -> QuerySet[Submission]:
    """Staff see every submission; others their own and those they grade."""
    submissions = Submission.objects.select_related("student", "mentor")
    if user.is_staff:
        return submissions
    return submissions.filter(Q(student_id=user.pk) | Q(mentor_id=user.pk))
