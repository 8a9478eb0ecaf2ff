"""
Authentication while connected: bad tokens are refused 4401 (the client reads the code);
a token that expires closes its socket 4401 within 5 s of `exp` unless `auth.refresh`
brought a valid token of the same user; tickets are one use and live at most 30 s; the
sockets of a deactivated user, or of one removed from a unit, close within 5 s, on every
server process; tokens and tickets never appear in Django's logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import redis

from tests import support
from tests.reliability import clients, faults
from tests.reliability.clients import Demo, Socket, mint, unsigned
from tests.reliability.conftest import Launch

GRACE = 5  # seconds after `exp` within which the socket must be closed (docs/protocol.md section 3)


def bad_tokens(demo: Demo) -> dict[str, str]:
    alice = demo.users["alice"]
    return {
        "expired": demo.token("alice", lifetime=-60),
        "forged (signed with another key)": mint(alice, 900, key="not-the-servers-key-but-long-enough-for-hs256"),
        "alg none": unsigned(alice),
        "refresh token used as access": demo.token("alice", token_type="refresh"),
        "signed HS512 with the right key": mint(alice, 900, algorithm="HS512"),
        "no such user": mint(99_999, 900),
        "not a JWT": "abc",
        "signature cut off": demo.token("alice").rsplit(".", 1)[0] + ".",
    }


async def refused_code(url: str, **kwargs: object) -> int:
    socket = await Socket.open(url, **kwargs)
    return await socket.closed()


async def test_bad_tokens_are_refused_4401_on_every_way_in(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    north = demo.units["North"]
    paths = [f"/ws/requests/{north}/", "/ws/", "/ws/notifications/"]
    results: dict[str, int] = {}
    for what, token in bad_tokens(demo).items():
        for path in paths:
            results[f"{what}, ?token= on {path}"] = await refused_code(f"{module_server.ws}{path}?token={token}")
        bearer = await refused_code(f"{module_server.ws}{paths[0]}", subprotocols=["bearer", token])
        results[f"{what}, bearer subprotocol"] = bearer
    for what, ticket in {"unknown ticket": "no-such-ticket", "empty ticket": ""}.items():
        results[what] = await refused_code(f"{module_server.ws}{paths[0]}?ticket={ticket}")
    results["no credential"] = await refused_code(f"{module_server.ws}{paths[0]}")
    for what, code in results.items():
        print(f"{what:70} -> {code}")
    wrong = {what: code for what, code in results.items() if code != 4401}
    # The same user's good token is accepted both ways (the refusals above are about the token).
    good = demo.token("alice")
    accepted = await Socket.open(f"{module_server.ws}{paths[0]}?token={good}")
    await accepted.ping()
    bearer = await Socket.open(f"{module_server.ws}{paths[0]}", subprotocols=["bearer", good])
    await bearer.ping()
    assert bearer.ws.subprotocol == "bearer", f"accepted with subprotocol {bearer.ws.subprotocol!r}"
    await clients.close_all([accepted, bearer])
    summary(f"bad credentials: {len(results)} handshakes, closed 4401 {len(results) - len(wrong)}/{len(results)}")
    assert not wrong, f"not refused 4401: {wrong}"


@dataclass
class Expiry:
    """One socket whose credential expires at `exp`: when it closed, and how."""

    what: str
    socket: Socket
    exp: float
    closed_at: float = 0.0

    @property
    def lag(self) -> float:
        return self.closed_at - self.exp


async def test_sockets_close_4401_within_5_s_of_exp_unless_refreshed_by_the_same_user(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    north = demo.units["North"]
    route = f"{module_server.ws}/ws/requests/{north}/"
    lifetime = 6  # long enough for a ticket and nine handshakes on a loaded machine
    short = demo.token("alice", lifetime=lifetime)
    exp = int(time.time()) + lifetime  # as minted (whole seconds)
    async with clients.api(module_server, short) as api:
        ticket = (await api.post("/api/auth/ws-ticket/")).json()["ticket"]
    sockets = {
        "?token=": await Socket.open(f"{route}?token={short}"),
        "bearer subprotocol": await Socket.open(route, subprotocols=["bearer", short]),
        "ticket of a short-lived token": await Socket.open(f"{route}?ticket={ticket}"),
        "multiplexed /ws/": await Socket.open(f"{module_server.ws}/ws/?token={short}"),
        "refreshed with another user's token": await Socket.open(f"{route}?token={short}"),
        "refreshed with a forged token": await Socket.open(f"{route}?token={short}"),
        "refreshed with a refresh token": await Socket.open(f"{route}?token={short}"),
        "refreshed with an expired token": await Socket.open(f"{route}?token={short}"),
    }
    refreshed = await Socket.open(f"{route}?token={short}")
    await clients.all_of([*sockets.values(), refreshed], lambda s: s.ping(), "accepted")
    refusals = {
        "refreshed with another user's token": demo.token("bob", lifetime=60),
        "refreshed with a forged token": mint(demo.users["alice"], 60, key="another-key-long-enough-for-hs256-signing"),
        "refreshed with a refresh token": demo.token("alice", lifetime=60, token_type="refresh"),
        "refreshed with an expired token": demo.token("alice", lifetime=-5),
    }
    for what, token in refusals.items():
        await sockets[what].send({"type": "auth.refresh", "token": token})
    new_lifetime = lifetime + GRACE + 4  # its exp is well after the first token's exp + GRACE
    await refreshed.send({"type": "auth.refresh", "token": demo.token("alice", lifetime=new_lifetime)})
    new_exp = int(time.time()) + new_lifetime
    await refreshed.wait(lambda s: s.count("auth.refreshed") == 1, "auth.refreshed")
    for what in refusals:
        await sockets[what].wait(lambda s: s.count("error") == 1, "an error frame for the refused auth.refresh")

    expiries = [Expiry(what, socket, exp) for what, socket in sockets.items()]

    async def closing(expiry: Expiry) -> None:
        await expiry.socket.closed(timeout=expiry.exp + GRACE + 2 - time.time())
        expiry.closed_at = expiry.socket.closed_at

    await asyncio.gather(*(closing(e) for e in expiries))
    # The refreshed socket outlives the first token by more than the grace period ...
    await asyncio.sleep(max(0.0, exp + GRACE + 0.5 - time.time()))  # the time under test, not a synchronisation
    await refreshed.ping()
    # ... and closes with the second.
    renewed = Expiry("refreshed with a newer token of the same user", refreshed, new_exp)
    await closing(renewed)
    expiries.append(renewed)
    for e in expiries:
        print(f"{e.what:50} closed {e.socket.close_code} at exp{e.lag:+.1f} s")
    wrong = [f"{e.what}: {e.socket.close_code} at exp{e.lag:+.1f} s" for e in expiries if e.socket.close_code != 4401]
    early_or_late = [f"{e.what}: exp{e.lag:+.1f} s" for e in expiries if not -1 <= e.lag <= GRACE]
    summary(
        f"token expiry: {len(expiries)} sockets (token, bearer, ticket, /ws/, 4 refused and 1 accepted auth.refresh), "
        f"closed 4401 {len(expiries) - len(wrong)}/{len(expiries)}, at exp+{min(e.lag for e in expiries):.1f} "
        f"to exp+{max(e.lag for e in expiries):.1f} s; the refreshed one lived to its new token's exp"
    )
    assert not wrong, f"not closed 4401: {wrong}"
    assert not early_or_late, f"closed outside [exp-1 s, exp+{GRACE} s]: {early_or_late}"


async def test_a_ticket_opens_one_socket_and_lives_at_most_30_s(
    module_server: support.Server, demo: Demo, summary: Callable[[str], None]
) -> None:
    route = f"{module_server.ws}/ws/requests/{demo.units['North']}/"
    async with clients.api(module_server, demo.token("alice")) as api:
        answer = (await api.post("/api/auth/ws-ticket/")).json()
    ticket, expires_in = answer["ticket"], answer["expires_in"]
    # The ticket's lifetime as Redis keeps it, not only as the API says it.
    store = redis.Redis.from_url(module_server.env["REDIS_URL"])
    keys = [k for k in store.scan_iter(match=f"*{ticket}*")]
    assert len(keys) == 1, f"expected the ticket in Redis once, found {keys}"
    ttl = store.ttl(keys[0])
    first = await Socket.open(f"{route}?ticket={ticket}")
    await first.ping()
    again = await refused_code(f"{route}?ticket={ticket}")
    await first.close()
    summary(f"tickets: expires_in {expires_in} s, Redis TTL {ttl} s, first use accepted, second use closed {again}")
    assert 0 < expires_in <= 30 and 0 < ttl <= 30, f"ticket lives {expires_in} s (API), {ttl} s (Redis)"
    assert again == 4401, f"a used ticket opened another socket (closed {again})"


async def test_sockets_of_a_deactivated_user_or_one_removed_from_a_unit_close_within_5_s(
    launch: Launch, demo: Demo, summary: Callable[[str], None]
) -> None:
    first = launch()
    second = launch(share=first)  # the control message must reach every process
    north = demo.units["North"]
    north_stream = f"requests.unit.{north}"

    async def on(server: support.Server, path: str, user: str) -> Socket:
        return await Socket.open(f"{server.ws}{path}?token={demo.token(user)}", label=f"{user} {path} :{server.port}")

    sam_routes = [await on(first, f"/ws/requests/{north}/", "sam"), await on(second, f"/ws/crates/{north}/", "sam")]
    sam_multiplexed = await on(second, "/ws/", "sam")
    sam_notifications = await on(first, "/ws/notifications/", "sam")
    bob_sockets = [
        await on(first, f"/ws/requests/{north}/", "bob"),
        await on(second, "/ws/notifications/", "bob"),
        await on(second, "/ws/", "bob"),
    ]
    alice = await on(first, f"/ws/requests/{north}/", "alice")
    for socket in (sam_multiplexed, bob_sockets[2]):
        await socket.send({"type": "subscribe", "stream": north_stream})
        await socket.wait(lambda s: s.count("subscribed") == 1, "subscribed")
    everyone = [*sam_routes, sam_multiplexed, sam_notifications, *bob_sockets, alice]
    await clients.all_of(everyone, lambda s: s.ping(), "accepted")

    removed_at = float(
        await clients.manage_shell(
            first,
            "import time\nfrom apps.accounts.models import Membership\nchanged = time.time()\n"
            "Membership.objects.get(user__username='sam', unit__name='North').delete()\nprint(changed)",
        )
    )
    await clients.all_of(sam_routes, lambda s: s.closed(timeout=removed_at + GRACE + 2 - time.time()), "closed")
    removal_lag = max(s.closed_at for s in sam_routes) - removed_at

    def dropped(s: Socket) -> bool:
        return any(f.get("type") == "error" and f.get("stream") == north_stream for f in s.frames)

    await sam_multiplexed.wait(dropped, f"an error frame dropping {north_stream}", removed_at + GRACE + 2 - time.time())

    deactivated_at = float(
        await clients.manage_shell(
            first,
            "import time\nfrom apps.accounts.models import User\nchanged = time.time()\n"
            "user = User.objects.get(username='bob')\nuser.is_active = False\nuser.save()\nprint(changed)",
        )
    )
    await clients.all_of(bob_sockets, lambda s: s.closed(timeout=deactivated_at + GRACE + 2 - time.time()), "closed")
    deactivation_lag = max(s.closed_at for s in bob_sockets) - deactivated_at

    # Sam's sockets that are still allowed stay open, and no North event reaches sam any more.
    async with clients.api(first, demo.token("alice")) as api:
        made = await clients.create_request(api, north, "after the access changes")
    await alice.wait(lambda s: made in [e["request_id"] for e in s.events()], "the North event")
    await clients.all_of([sam_multiplexed, sam_notifications], lambda s: s.ping(), "still open")
    leaked = [e for e in sam_multiplexed.events() if e["request_id"] == made]
    refused_again = [
        await refused_code(f"{first.ws}/ws/requests/{north}/?token={demo.token('sam')}"),
        await refused_code(f"{second.ws}/ws/notifications/?token={demo.token('bob')}"),
    ]
    codes = {s.label: s.close_code for s in [*sam_routes, *bob_sockets]}
    await clients.close_all([sam_multiplexed, sam_notifications, alice])
    summary(
        f"access withdrawn: removed from unit -> {len(sam_routes)} sockets on 2 processes closed "
        f"{sorted({c for c in codes.values() if c in (4403,)})} within {removal_lag:.1f} s, /ws/ stream dropped, "
        f"North events to sam after it 0; deactivated -> {len(bob_sockets)} sockets closed within "
        f"{deactivation_lag:.1f} s; new handshakes {refused_again}"
    )
    assert [s.close_code for s in sam_routes] == [4403, 4403], f"removed from the unit: {codes}"
    assert [s.close_code for s in bob_sockets] == [4401, 4401, 4401], f"deactivated: {codes}"
    assert removal_lag <= GRACE and deactivation_lag <= GRACE, (removal_lag, deactivation_lag)
    assert not leaked, "a North event reached sam after sam left North"
    assert refused_again == [4403, 4401], f"new handshakes after the changes: {refused_again}"


async def test_tokens_and_tickets_never_appear_in_djangos_logs(
    launch: Launch, demo: Demo, summary: Callable[[str], None]
) -> None:
    server = launch(LOG_LEVEL="DEBUG")
    north = demo.units["North"]
    route = f"{server.ws}/ws/requests/{north}/"
    good = demo.token("alice")
    secrets = {"valid": good, **bad_tokens(demo)}
    secrets.pop("not a JWT")
    async with clients.api(server, good) as api:
        ticket = (await api.post("/api/auth/ws-ticket/")).json()["ticket"]
        used_ticket = (await api.post("/api/auth/ws-ticket/")).json()["ticket"]
    secrets |= {"ticket": ticket, "used ticket": used_ticket}

    sockets = [await Socket.open(f"{route}?token={good}"), await Socket.open(route, subprotocols=["bearer", good])]
    sockets.append(await Socket.open(f"{route}?ticket={used_ticket}"))
    # Minted just before use: it must outlive the handshake, even on a loaded machine.
    secrets["short-lived"] = short = demo.token("bob", lifetime=5)
    expiring = await Socket.open(f"{route}?token={short}")
    await clients.all_of([*sockets, expiring], lambda s: s.ping(), "accepted")
    for what, token in secrets.items():
        if what not in ("valid", "short-lived", "ticket", "used ticket"):
            assert await refused_code(f"{route}?token={token}") == 4401
            assert await refused_code(route, subprotocols=["bearer", token]) == 4401
    assert await refused_code(f"{route}?ticket={used_ticket}") == 4401
    assert await refused_code(f"{server.ws}/ws/requests/{demo.units['South']}/?ticket={ticket}") == 4403
    assert await expiring.closed(timeout=15) == 4401
    await sockets[0].send({"type": "auth.refresh", "token": secrets["forged (signed with another key)"]})
    await sockets[0].send({"type": "auth.refresh", "token": good})
    await sockets[0].wait(lambda s: s.count("auth.refreshed") == 1, "auth.refreshed")
    # HTTP: SSE with ?token=, refusals and a 404 carrying a token in the query string.
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
        async with http.stream("GET", f"/api/events/?channel=requests.unit.{north}&token={good}") as sse:
            assert sse.status_code == 200
        for token in (secrets["expired"], secrets["forged (signed with another key)"]):
            refused = await http.get(f"/api/events/?channel=requests.unit.{north}&token={token}")
            assert refused.status_code in (401, 403)
            assert (await http.get("/api/auth/me/", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        assert (await http.get(f"/api/no-such-page/?token={good}&ticket={ticket}")).status_code == 404
    await clients.close_all(sockets)

    log = faults.server_log(server)  # Django's and the app's log lines (Daphne's access log is tested in tests/deploy)
    assert "closing socket" in log and "4401" in log, "expected the refusals in the log at DEBUG"
    leaked = {what for what, secret in secrets.items() if secret in log or secret.rsplit(".", 1)[-1] in log.split()}
    lines = len(log.splitlines())
    summary(
        f"tokens in logs: {len(secrets)} tokens and tickets used on sockets, SSE and HTTP at LOG_LEVEL=DEBUG; "
        f"{lines} log lines, secrets found {len(leaked)}"
    )
    assert not leaked, f"found in the log: {sorted(leaked)}"
