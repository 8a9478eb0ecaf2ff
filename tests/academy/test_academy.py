"""The academy: submissions to the mentor, grades to the student, the live leaderboard."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from apps.academy.models import Submission
from apps.realtime.events import validate
from tests.support import Demo, close_code, connect, nothing_more, ready, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(demo: Demo, username: str, path: str) -> Any:
    token = await sync_to_async(demo.token)(username)
    ws, accepted, _ = await connect(f"{path}?token={token}")
    assert accepted
    await ready(ws)
    return ws


async def event(ws: Any) -> dict[str, Any]:
    frame = await receive(ws)
    validate(frame)
    return frame


def submit(demo: Demo, username: str, title: str) -> Any:
    return demo.api(username).post("/api/academy/submissions/", {"title": title}, format="json")


def grade(demo: Demo, username: str, submission_id: int, score: Any) -> Any:
    return demo.api(username).post(f"/api/academy/submissions/{submission_id}/grade/", {"score": score}, format="json")


def submitted(demo: Demo, username: str, title: str) -> int:
    response = submit(demo, username, title)
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


async def test_a_submission_reaches_the_students_mentor(layer: str, demo: Demo) -> None:
    mentor = await sync_to_async(demo.user)("mentor")
    mentor_ws = await open_socket(demo, "mentor", f"/ws/mentor/{mentor.pk}/")
    response = await sync_to_async(submit)(demo, "stella", "Essay on archives")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "waiting" and response.json()["mentor"] == "mentor"
    created = await event(mentor_ws)
    assert (created["type"], created["stream"]) == ("submission.created", f"academy.mentor.{mentor.pk}")
    assert created["submission_id"] == response.json()["id"] and created["status"] == "waiting"
    assert created["data"]["student"] == "stella" and created["updated_by"] == "stella"
    assert await nothing_more(mentor_ws)
    await mentor_ws.disconnect()


async def test_a_grade_reaches_the_student_and_the_leaderboard(layer: str, demo: Demo) -> None:
    stella = await sync_to_async(demo.user)("stella")
    submission_id = await sync_to_async(submitted)(demo, "stella", "Essay")
    student_ws = await open_socket(demo, "stella", f"/ws/student/{stella.pk}/")
    board_ws = await open_socket(demo, "sid", "/ws/leaderboard/")
    inbox_ws = await open_socket(demo, "stella", f"/ws/notifications/{stella.pk}/")

    response = await sync_to_async(grade)(demo, "mentor", submission_id, 87)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["score"]) == ("graded", 87)

    graded = await event(student_ws)
    assert (graded["type"], graded["stream"]) == ("submission.graded", f"academy.student.{stella.pk}")
    assert (graded["submission_id"], graded["score"], graded["status"]) == (submission_id, 87, "graded")
    assert graded["updated_by"] == "mentor" and graded["data"]["graded_at"] is not None
    board = await event(board_ws)
    assert (board["type"], board["stream"]) == ("leaderboard.updated", "leaderboard")
    first = board["data"]["entries"][0]
    assert (first["username"], first["score"], first["rank"], first["graded"]) == ("stella", 87.0, 1, 1)
    personal = await event(inbox_ws)
    assert personal["type"] == "notification.created" and "87/100" in personal["data"]["title"]
    for ws in (student_ws, board_ws, inbox_ws):
        assert await nothing_more(ws)
        await ws.disconnect()


async def test_a_late_leaderboard_subscriber_first_gets_the_current_ranking(memory_layer: str, demo: Demo) -> None:
    submission_id = await sync_to_async(submitted)(demo, "sid", "Lab report")
    assert (await sync_to_async(grade)(demo, "mentor", submission_id, 64)).status_code == 200
    token = await sync_to_async(demo.token)("bob")
    late, _, _ = await connect(f"/ws/leaderboard/?token={token}")
    frame = await event(late)  # the first frame, before any new grade
    assert frame["type"] == "leaderboard.updated"
    assert [(e["username"], e["score"]) for e in frame["data"]["entries"]][:1] == [("sid", 64.0)]
    await late.disconnect()


def test_only_the_students_mentor_grades_in_range_and_once(memory_layer: str, demo: Demo) -> None:
    from apps.accounts.models import User

    other_mentor = User.objects.create_user("morgan", password="x", role=User.Role.MENTOR)
    submission_id = submitted(demo, "stella", "Essay")
    for stranger in ("sid", "stella", "admin", "alice"):
        assert grade(demo, stranger, submission_id, 50).status_code == 403, stranger
    client = demo.api("alice")
    client.force_authenticate(other_mentor)
    assert client.post(f"/api/academy/submissions/{submission_id}/grade/", {"score": 50}).status_code == 403
    for bad in (101, -1, "ninety", None):
        assert grade(demo, "mentor", submission_id, bad).status_code == 400, bad
    assert Submission.objects.get(pk=submission_id).status == "waiting"
    assert grade(demo, "mentor", submission_id, 100).status_code == 200
    again = grade(demo, "mentor", submission_id, 90)
    assert again.status_code == 409 and "already graded" in again.json()["detail"]
    assert Submission.objects.get(pk=submission_id).score == 100
    assert grade(demo, "mentor", 999_999, 50).status_code == 404


def test_only_students_with_a_mentor_submit(memory_layer: str, demo: Demo) -> None:
    from apps.accounts.models import User

    for username in ("mentor", "alice", "admin"):
        assert submit(demo, username, "Essay").status_code == 403, username
    User.objects.filter(username="sid").update(mentor=None)
    no_mentor = submit(demo, "sid", "Essay")
    assert no_mentor.status_code == 400 and "mentor" in str(no_mentor.json())
    assert submit(demo, "stella", "").status_code == 400
    assert not Submission.objects.exists()


def test_the_leaderboard_ranks_by_average_with_shared_ranks_and_ungraded_last(memory_layer: str, demo: Demo) -> None:
    from apps.accounts.models import User

    mentor = demo.user("mentor")
    User.objects.create_user("sue", password="x", role=User.Role.STUDENT, mentor=mentor)
    for username, scores in {"stella": [80, 90], "sid": [85], "sue": []}.items():
        for n, score in enumerate(scores):
            assert grade(demo, "mentor", submitted(demo, username, f"work {n}"), score).status_code == 200
    submitted(demo, "sue", "not graded yet")
    entries = demo.api("bob").get("/api/academy/leaderboard/").json()["entries"]
    assert [(e["username"], e["rank"], e["score"], e["graded"]) for e in entries] == [
        ("stella", 1, 85.0, 2),
        ("sid", 1, 85.0, 1),
        ("sue", None, None, 0),
    ]


def test_submissions_are_listed_to_their_student_and_mentor(memory_layer: str, demo: Demo) -> None:
    mine = submitted(demo, "stella", "Mine")
    submitted(demo, "sid", "His")
    assert [s["id"] for s in demo.api("stella").get("/api/academy/submissions/").json()] == [mine]
    assert len(demo.api("mentor").get("/api/academy/submissions/?status=waiting").json()) == 2
    assert demo.api("alice").get("/api/academy/submissions/").json() == []


@pytest.mark.parametrize(
    ("path", "username", "code"),
    [
        ("/ws/mentor/{mentor}/", "stella", 4403),  # a student
        ("/ws/mentor/{mentor}/", "admin", 4403),  # staff read the dashboard, not a mentor's stream
        ("/ws/mentor/{stella}/", "stella", 4403),  # her own id, but she is no mentor
        ("/ws/mentor/abc/", "mentor", 4400),
        ("/ws/mentor/{mentor}/", None, 4401),
        ("/ws/student/{stella}/", "sid", 4403),  # another student
        ("/ws/student/{stella}/", "mentor", 4403),  # her mentor reads his own stream
        ("/ws/student/{mentor}/", "mentor", 4403),  # his own id, but he is no student
        ("/ws/student/{stella}/", None, 4401),
        ("/ws/leaderboard/", None, 4401),
    ],
)
async def test_academy_streams_refuse_everyone_else(
    memory_layer: str, demo: Demo, path: str, username: str | None, code: int
) -> None:
    ids = await sync_to_async(lambda: {"mentor": demo.user("mentor").pk, "stella": demo.user("stella").pk})()
    query = f"?token={await sync_to_async(demo.token)(username)}" if username else ""
    ws, accepted, _ = await connect(path.format(**ids) + query)
    assert accepted
    assert await close_code(ws) == code


async def test_one_mentors_submissions_never_reach_another(memory_layer: str, demo: Demo) -> None:
    from apps.accounts.models import User

    def other_mentor_with_student() -> tuple[Any, str]:
        morgan = User.objects.create_user("morgan", password="x", role=User.Role.MENTOR)
        User.objects.create_user("sam2", password="x", role=User.Role.STUDENT, mentor=morgan)
        return morgan, demo.token("morgan")

    morgan, token = await sync_to_async(other_mentor_with_student)()
    ws, _, _ = await connect(f"/ws/mentor/{morgan.pk}/?token={token}")
    await ready(ws)
    assert (await sync_to_async(submit)(demo, "stella", "Essay")).status_code == 201
    assert await nothing_more(ws, 0.5)
    response = await sync_to_async(lambda: demo.api("sam2").post("/api/academy/submissions/", {"title": "x"}))()
    assert response.status_code == 201
    assert (await event(ws))["data"]["student"] == "sam2"
    await ws.disconnect()


async def test_the_helpers_publish_from_code_outside_any_request(memory_layer: str, demo: Demo) -> None:
    """Like a background task or a signal receiver would call them: no request, no transaction."""
    from apps.notifications import helpers

    mentor, stella = await sync_to_async(lambda: (demo.user("mentor"), demo.user("stella")))()
    mentor_ws = await open_socket(demo, "mentor", f"/ws/mentor/{mentor.pk}/")
    student_ws = await open_socket(demo, "stella", f"/ws/student/{stella.pk}/")
    board_ws = await open_socket(demo, "alice", "/ws/leaderboard/")

    def from_a_task() -> Submission:
        submission = Submission.objects.create(
            student=stella, mentor=mentor, title="Imported", score=70, status="graded"
        )
        helpers.notify_mentor(submission)
        helpers.notify_student(submission)
        helpers.update_leaderboard()
        with pytest.raises(ValueError, match="no score"):
            helpers.notify_student(Submission.objects.create(student=stella, mentor=mentor, title="Ungraded"))
        return submission

    submission = await sync_to_async(from_a_task)()
    created, graded, board = await event(mentor_ws), await event(student_ws), await event(board_ws)
    assert (created["type"], created["submission_id"], created["updated_by"]) == (
        "submission.created",
        submission.pk,
        None,
    )
    assert (graded["type"], graded["score"]) == ("submission.graded", 70)
    assert board["data"]["entries"][0]["username"] == "stella"
    for ws in (mentor_ws, student_ws, board_ws):
        assert await nothing_more(ws)
        await ws.disconnect()
