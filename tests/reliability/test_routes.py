"""
Every route tried by every demo user (and by no user): accepted, or refused with the code
docs/protocol.md sections 1 and 3 give; the same for subscriptions on the multiplexed /ws/.
Then events are made on every kind of stream while all those sockets are open, and every
event each socket received is checked against who may read its stream: cross-unit and
cross-user deliveries, 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import websockets

from tests import support
from tests.reliability import clients
from tests.reliability.clients import Demo, Socket

# The demo users of seed_demo (README): unit and unit role, staff, platform role.
UNIT_ROLES = {
    "alice": ("North", "approver"), "bob": ("North", "requester"), "sam": ("North", "store_head"),
    "nina": ("North", "admin"), "carol": ("South", "approver"), "dan": ("South", "requester"),
}  # fmt: skip
USERS = [*UNIT_ROLES, "admin", "mentor", "stella", "sid", None]  # None: no credential
STAFF, MENTORS, STUDENTS = {"admin"}, {"mentor"}, {"stella", "sid"}


@dataclass(frozen=True)
class Ids:
    units: dict[str, int]
    users: dict[str, int]
    job: str  # a progress job of alice's


def may_read(user: str, stream: str, ids: Ids) -> bool:
    """Who may read a stream, as docs/protocol.md section 1 says (not as the code says)."""
    kind, _, param = stream.rpartition(".") if stream.count(".") >= 2 else (stream, "", "")
    unit = next((name for name, pk in ids.units.items() if str(pk) == param), None)
    unit_name, role = UNIT_ROLES.get(user, (None, None))
    member = unit is not None and unit == unit_name
    if kind in ("requests.unit", "crates.unit"):
        return member
    if kind == "storage.unit":
        return user in STAFF or (member and role == "admin")
    if kind == "audit.unit":
        return user in STAFF or (member and role in ("admin", "approver"))
    if kind == "notifications.user":
        return param == str(ids.users[user])
    if kind == "progress.job":
        return user == "alice" or user in STAFF
    if kind == "dashboard":
        return user in STAFF or user in MENTORS
    if kind == "academy.mentor":
        return user in MENTORS and param == str(ids.users[user])
    if kind == "academy.student":
        return user in STUDENTS and param == str(ids.users[user])
    return kind in ("notifications.all", "invoices", "leaderboard")


def routes(user: str | None, ids: Ids) -> list[tuple[str, str, list[str]]]:
    """(column, path, the streams a socket on it reads) of every route, for `user`."""
    n, s = ids.units["North"], ids.units["South"]
    me, alice = ids.users[user] if user else ids.users["alice"], ids.users["alice"]
    table = []
    for kind in ("requests", "crates", "storage", "audit"):
        for name, unit in (("North", n), ("South", s)):
            table.append((f"{kind}/{name}", f"/ws/{kind}/{unit}/", [f"{kind}.unit.{unit}"]))
    mentor, stella = ids.users["mentor"], ids.users["stella"]
    return [
        *table,
        ("notifications/alice", f"/ws/notifications/{alice}/", [f"notifications.user.{alice}"]),
        ("notifications/self", f"/ws/notifications/{me}/", [f"notifications.user.{me}"]),
        ("notifications", "/ws/notifications/", [f"notifications.user.{me}", "notifications.all"]),
        ("progress/alice's job", f"/ws/progress/{ids.job}/", [f"progress.job.{ids.job}"]),
        ("invoices", "/ws/invoices/", ["invoices"]),
        ("dashboard", "/ws/dashboard/", ["dashboard"]),
        ("leaderboard", "/ws/leaderboard/", ["leaderboard"]),
        ("mentor/mentor", f"/ws/mentor/{mentor}/", [f"academy.mentor.{mentor}"]),
        ("student/stella", f"/ws/student/{stella}/", [f"academy.student.{stella}"]),
        ("health", "/ws/health/", []),
        ("/ws/", "/ws/", []),
    ]


def expected_code(user: str | None, path: str, streams: list[str], ids: Ids) -> int | None:
    """None: accepted."""
    if path == "/ws/health/":
        return None
    if user is None:
        return 4401
    return None if all(may_read(user, stream, ids) for stream in streams) else 4403


def all_streams(ids: Ids) -> list[str]:
    names = {stream for _, _, streams in routes("alice", ids) for stream in streams}
    return sorted(names | {f"notifications.user.{pk}" for pk in ids.users.values()} - {""})


@dataclass
class Opened:
    user: str | None
    column: str
    path: str
    streams: list[str]
    socket: Socket
    result: str = ""
    subscribed: list[str] = field(default_factory=list)


async def open_route(
    server: support.Server, demo: Demo, user: str | None, column: str, path: str, streams: list[str]
) -> Opened:
    query = f"?token={demo.token(user)}" if user else ""
    socket = await Socket.open(f"{server.ws}{path}{query}", label=f"{user} {path}")
    try:
        await socket.ping()
    except (AssertionError, websockets.ConnectionClosed):
        await socket.closed()  # refused: accepted, then closed with a code
    return Opened(
        user, column, path, streams, socket, "accepted" if socket.close_code is None else str(socket.close_code)
    )


@pytest.fixture
def server(launch: Callable[..., support.Server]) -> support.Server:
    return launch()


async def test_every_user_on_every_route_gets_what_the_contract_says_and_nothing_crosses(
    server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    async with clients.api(server, demo.token("alice")) as alice:
        job = await alice.post("/api/progress/jobs/", json={"task_type": "report_generation", "total_items": 1})
        assert job.status_code == 202, job.text
    ids = Ids(demo.units, demo.users, job.json()["job_id"])

    # 1. Each user on each route.
    gate = asyncio.Semaphore(20)

    async def one(user: str | None, column: str, path: str, streams: list[str]) -> Opened:
        async with gate:
            return await open_route(server, demo, user, column, path, streams)

    opened = await asyncio.gather(*(one(u, *route) for u in USERS for route in routes(u, ids)))
    wrong = []
    for o in opened:
        expected = expected_code(o.user, o.path, o.streams, ids)
        if o.result != ("accepted" if expected is None else str(expected)):
            wrong.append(f"{o.user} on {o.path}: {o.result}, expected {expected or 'accepted'}")
    print_matrix(opened)

    # 2. Each signed-in user subscribes to every stream on the multiplexed /ws/.
    multiplexed = {o.user: o for o in opened if o.path == "/ws/" and o.result == "accepted"}
    subscriptions = 0
    for user, o in multiplexed.items():
        assert user is not None
        for stream in all_streams(ids):
            await o.socket.send({"type": "subscribe", "stream": stream})
        await o.socket.ping()
        for stream in all_streams(ids):
            subscriptions += 1
            answers = [f for f in o.socket.frames if f.get("stream") == stream and f["type"] in ("subscribed", "error")]
            got = (
                "accepted" if [f["type"] for f in answers] == ["subscribed"] else str([f.get("code") for f in answers])
            )
            expected = "accepted" if may_read(user, stream, ids) else "[4403]"
            if got != expected:
                wrong.append(f"{user} subscribing to {stream} on /ws/: {got}, expected {expected}")
            if got == "accepted":
                o.subscribed.append(stream)
    assert not wrong, f"{len(wrong)} handshakes or subscriptions not as the contract says:\n" + "\n".join(wrong)

    # 3. Events on every kind of stream, while every accepted socket listens.
    listening = [o for o in opened if o.result == "accepted" and o.path != "/ws/health/"]
    for o in listening:
        o.subscribed = o.subscribed or list(o.streams)
        o.socket.frames.clear()  # latest-state replays so far are not part of the count
    made = await make_events(server, demo, ids)

    # Every socket allowed to read a stream gets its events ...
    def received_all(o: Opened) -> Callable[[Socket], bool]:
        wanted = {stream for stream in made if stream in o.subscribed}
        return lambda s: wanted <= {f.get("stream") for f in s.frames}

    await clients.all_of(
        [o.socket for o in listening],
        lambda s: s.wait(received_all(next(o for o in listening if o.socket is s)), "its streams' events", 20),
        "every event reached every socket allowed to read it",
    )
    await clients.all_of([o.socket for o in listening], lambda s: s.ping(), "pong after the events")
    # ... and no socket got an event of a stream its user may not read or it did not subscribe to.
    crossing = [
        f"{o.user} on {o.path} got {f['type']} of {f['stream']}"
        for o in listening
        for f in o.socket.frames
        if "stream" in f
        and f["type"] not in ("subscribed", "error", "stream.reset", "stream.resumed")
        and (not may_read(o.user or "", f["stream"], ids) or f["stream"] not in o.subscribed)
    ]
    deliveries = sum(1 for o in listening for f in o.socket.frames if "stream" in f and "id" in f)
    await clients.close_all(o.socket for o in opened)
    counts: dict[str, int] = {}
    for o in opened:
        counts[o.result] = counts.get(o.result, 0) + 1
    summary(
        f"routes: {len(USERS)} users (one anonymous) x {len(routes('alice', ids))} routes = {len(opened)} handshakes "
        f"as the contract says ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); /ws/ subscribe: "
        f"{subscriptions} as expected; {len(made)} streams got events, {deliveries} deliveries, "
        f"cross-unit or cross-user deliveries {len(crossing)}"
    )
    assert not crossing, "events reached sockets that may not read them:\n" + "\n".join(crossing[:20])


async def make_events(server: support.Server, demo: Demo, ids: Ids) -> list[str]:
    """One or more events on every kind of stream; returns the streams that got one."""
    north, south = ids.units["North"], ids.units["South"]
    streams = []
    async with (
        clients.api(server, demo.token("bob")) as bob,
        clients.api(server, demo.token("dan")) as dan,
        clients.api(server, demo.token("nina")) as nina,
        clients.api(server, demo.token("admin")) as admin,
        clients.api(server, demo.token("stella")) as stella,
        clients.api(server, demo.token("mentor")) as mentor,
    ):
        await clients.create_request(bob, north, "routes: North")
        await clients.create_request(dan, south, "routes: South")
        streams += [f"requests.unit.{north}", f"requests.unit.{south}", f"audit.unit.{north}", f"audit.unit.{south}"]
        for client, unit, code in ((nina, north, "N-RT-1"), (dan, south, "S-RT-1")):
            crate = await client.post("/api/documents/crates/", json={"unit": unit, "code": code})
            assert crate.status_code == 201, crate.text
        for client, unit in ((nina, north), (admin, south)):  # the unit's admin, staff
            place = await client.post("/api/storage/", json={"unit": unit, "name": f"Routes shelf {unit}"})
            assert place.status_code == 201, place.text
        streams += [f"crates.unit.{north}", f"crates.unit.{south}", f"storage.unit.{north}", f"storage.unit.{south}"]
        assert (await admin.post("/api/notifications/broadcast/", json={"title": "t", "body": "b"})).status_code == 202
        submission = await stella.post("/api/academy/submissions/", json={"title": "routes"})
        assert submission.status_code == 201, submission.text
        graded = await mentor.post(f"/api/academy/submissions/{submission.json()['id']}/grade/", json={"score": 90})
        assert graded.status_code == 200, graded.text
        streams += ["notifications.all", f"academy.mentor.{ids.users['mentor']}"]
        streams += [f"academy.student.{ids.users['stella']}", "leaderboard"]
    await clients.manage_shell(
        server,
        "from apps.accounts.models import User\n"
        "from apps.notifications.services import notify_user\n"
        "from apps.progress.events import ProgressUpdated\n"
        "from apps.progress.streams import job_progress\n"
        "from apps.realtime.publish import publish\n"
        "for name in ('alice', 'carol'):\n"
        "    notify_user(recipient=User.objects.get(username=name), title='routes')\n"
        f"publish(job_progress.name(job_id='{ids.job}'), ProgressUpdated(action='progress', object_id='{ids.job}',"
        " current=1, total=2, percent=50.0, status='started', message='half', data={}))\n",
    )
    streams += [f"notifications.user.{ids.users['alice']}", f"notifications.user.{ids.users['carol']}"]
    streams.append(f"progress.job.{ids.job}")
    return streams


def print_matrix(opened: list[Opened]) -> None:
    """The table of docs/reliability.md: a row per user, a column per route."""
    columns = list(dict.fromkeys(o.column for o in opened))
    print("| user | " + " | ".join(columns) + " |")
    for user in USERS:
        cells = {o.column: o.result for o in opened if o.user == user}
        row = ["ok" if cells[c] == "accepted" else cells[c] for c in columns]
        print(f"| {user or '(none)'} | " + " | ".join(row) + " |")
