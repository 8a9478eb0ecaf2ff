"""
A Daphne process is killed (SIGKILL) under its clients while another process goes on
making changes; it starts again on the same port and database. Its clients reconnect with
`last_event_id` and get exactly the events they missed, in order, without duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.reliability import clients, faults
from tests.reliability.clients import Demo, ResumingClient
from tests.reliability.conftest import Launch

NORTH_MEMBERS = ("alice", "bob", "sam", "nina")


def request_ids(client: ResumingClient) -> list[int]:
    return [e["request_id"] for e in client.events()]


async def test_clients_of_a_killed_server_resume_with_exactly_the_events_they_missed(
    launch: Launch, demo: Demo, summary: Callable[[str], None]
) -> None:
    killed = launch()
    other = launch(share=killed)  # same database and Redis: it takes changes while `killed` is down
    north = demo.units["North"]
    resuming = [
        ResumingClient(f"{killed.ws}/ws/requests/{north}/?token={demo.token(NORTH_MEMBERS[i % 4])}", f"client {i}")
        for i in range(20)
    ]
    try:
        await clients.all_of(resuming, lambda c: c.wait(lambda c: c.count("pong") >= 1, "subscribed"), "connected")
        async with clients.api(other, demo.token("bob")) as bob:
            made = [await clients.create_request(bob, north, f"before the kill {n}") for n in range(3)]
            await clients.all_of(resuming, lambda c: c.wait(lambda c: request_ids(c) == made, f"{made}"), "live")

            faults.kill_server(killed)
            await clients.all_of(resuming, lambda c: c.wait(lambda c: c.drops >= 1, "the drop"), "saw the kill")
            missed = [await clients.create_request(bob, north, f"while it is down {n}") for n in range(4)]
            made += missed

            faults.restart_server(killed)
            await clients.all_of(
                resuming, lambda c: c.wait(lambda c: c.count("stream.resumed") >= 1, "resumed", 20), "reconnected"
            )
            made += [await clients.create_request(bob, north, f"after the restart {n}") for n in range(2)]

            def everything(c: ResumingClient) -> bool:
                return set(made) <= set(request_ids(c))

            await clients.all_of(resuming, lambda c: c.wait(everything, f"all of {made}", 20), "after the restart")
        for client in resuming:
            assert request_ids(client) == made, f"{client.label}: got {request_ids(client)}, expected {made}"
            resumed = client.of_type("stream.resumed")
            assert [m["replayed"] for m in resumed] == [len(missed)], f"{client.label}: {resumed}"
            assert client.count("stream.reset") == 0, f"{client.label}: history reached back, yet stream.reset"
    finally:
        await asyncio.gather(*(c.stop() for c in resuming))
    replayed = sum(m["replayed"] for c in resuming for m in c.of_type("stream.resumed"))
    delivered = sum(len(request_ids(c)) for c in resuming)
    summary(
        f"daphne-kill: {len(resuming)} clients, {len(made)} events (3 before, {len(missed)} while down, 2 after), "
        f"replayed {replayed}/{len(resuming) * len(missed)}, delivered {delivered}/{len(resuming) * len(made)} "
        "in order, duplicates 0, resets 0"
    )
