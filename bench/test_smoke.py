"""End-to-end smoke test of the multi-tenant scenario against the product (`syncline`):
`pytest -p no:django bench/test_smoke.py` (about a minute; needs redis-server on PATH).

3 units x 2 users, 2 s of events: every event reaches exactly its unit's sockets and the
cross-unit counter stays 0. Then the counter is shown to work on the real wire: an event
created in one unit, which the collector is told belongs to another, is counted once per
socket of the unit that received it.
"""

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Options, Runner
from httpclient import HttpClient
from loadclient import LoadClient
from scenarios import parse_scenario
from targets.syncline import SynclineTarget


@pytest.fixture
def syncline(tmp_path: Path) -> Iterator[SynclineTarget]:
    target = SynclineTarget(tmp_path)
    try:
        target.prepare()
        target.configure("tenants")
        target.start()
        yield target
    finally:
        target.cleanup()


@pytest.mark.timeout(240)
async def test_tenants_reach_exactly_their_unit(syncline: SynclineTarget) -> None:
    client = LoadClient(1)
    try:
        # Generous waits: the machine running this may be busy, and a late event is not a lost one.
        runner = Runner(client, Options(duration_s=2.0, settle_s=0.5, drain_s=30.0, stall_s=10.0))
        result = await runner.run(syncline, parse_scenario("tenants:3x2@5"))
        assert (result["connected"], result["connect_failed"]) == (6, 0), result["connect_errors"]
        assert result["subscriptions_per_socket"] == 3
        assert result["sent"] == 10 and not result["post_errors"]
        assert result["cross_unit"] == 0
        assert result["received"] == result["expected"] == 20  # each event on its unit's 2 sockets

        # A wrong delivery is counted: unit 0's event, told to the collector as unit 1's.
        sockets = syncline.prepare_tenants(3, 2)
        key = runner.keys.next()
        connected = await client.connect(
            "ws",
            [s.url for s in sockets],
            len(sockets),
            key_base=key,
            groups=[s.group for s in sockets],
            subscribe=[s.subscribe for s in sockets],
        )
        assert connected.ok == 6
        async with HttpClient() as http:
            assert await syncline.post_tenant_event(http, key, 0, 1) == 201
        for _ in range(200):
            if (await client.progress())[0] >= 2:
                break
            await asyncio.sleep(0.1)
        collected = await client.collect({key: 0.0}, {key: 1})
        assert collected.cross_group == 2
        await client.close()
    finally:
        client.shutdown()
