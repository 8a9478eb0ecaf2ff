"""Streams of the academy: each mentor's, each student's, and the leaderboard."""

from typing import Any

from apps.accounts.models import User
from apps.realtime.streams import Stream, register


def user_is_that_mentor(user: Any, mentor_id: int) -> bool:
    return bool(user.is_authenticated and user.pk == mentor_id and user.role == User.Role.MENTOR)


def user_is_that_student(user: Any, student_id: int) -> bool:
    return bool(user.is_authenticated and user.pk == student_id and user.role == User.Role.STUDENT)


mentor_submissions = register(
    Stream(
        "academy.mentor.{mentor_id:int}",
        route="mentor/{mentor_id}/",
        can_read=user_is_that_mentor,
        events=("submission.created",),
    )
)
student_submissions = register(
    Stream(
        "academy.student.{student_id:int}",
        route="student/{student_id}/",
        can_read=user_is_that_student,
        events=("submission.graded",),
    )
)
# replay_latest: a new subscriber first gets the current ranking.
leaderboard = register(Stream("leaderboard", route="leaderboard/", events=("leaderboard.updated",), replay_latest=True))
