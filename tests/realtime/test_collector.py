"""The launcher's garbage collection (apps/realtime/daphne.py, `Collector`): long-lived objects
are frozen out of the collector's walks, and the garbage of frozen connections that closed is
still collected."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from apps.realtime.daphne import Collector


class Connection:
    """Stands for a connection's objects: a protocol and a transport referring to each other."""

    def __init__(self) -> None:
        self.peer: object = Peer(self)


class Peer:
    def __init__(self, owner: Connection) -> None:
        self.owner = owner


@pytest.fixture
def collector() -> Iterator[Collector]:
    was_frozen = gc.get_freeze_count()
    yield Collector()
    gc.unfreeze()  # leave the test process as it was: only what was frozen before stays so
    gc.collect()
    if was_frozen:
        gc.freeze()


def _cycles(n: int) -> tuple[list[Connection], list[weakref.ref[Connection]]]:
    connections = [Connection() for _ in range(n)]
    return connections, [weakref.ref(c) for c in connections]


def test_what_is_frozen_leaves_the_collector_s_walk(collector: Collector) -> None:
    open_now, _ = _cycles(300)
    collector.tick(len(open_now))
    assert gc.get_freeze_count() >= 600
    assert not any(o is open_now[0] for o in gc.get_objects()), "frozen: in no generation a collection walks"


def test_closed_frozen_connections_are_collected_once_enough_have_closed(collector: Collector) -> None:
    connections, refs = _cycles(Collector.RECLAIM_AFTER)
    opened = time.time() - 1
    assert not collector.tick(len(connections)), "no churn: nothing to reclaim"
    del connections  # every one closes: cyclic garbage, frozen
    for _ in range(Collector.RECLAIM_AFTER - 1):
        collector.connection_closed(opened)
    assert not collector.tick(0)
    assert sum(ref() is not None for ref in refs) == len(refs), "frozen garbage stays until a reclaim"
    collector.connection_closed(opened)
    assert collector.tick(0), "enough frozen connections closed"
    assert sum(ref() is not None for ref in refs) == 0


def test_a_connection_closed_before_any_freeze_is_no_churn(collector: Collector) -> None:
    collector.tick(0)
    for _ in range(Collector.RECLAIM_AFTER * 2):
        collector.connection_closed(time.time())  # opened after the freeze: never frozen
    assert not collector.tick(0)


def test_a_steady_number_of_connections_is_not_frozen_again(collector: Collector) -> None:
    collector.tick(1000)
    frozen_at = collector.frozen_at
    assert frozen_at > 0
    collector.tick(1099)  # fewer than a tenth more
    assert collector.frozen_at == frozen_at
    collector.tick(1100)
    assert collector.frozen_at > frozen_at


def test_the_threshold_grows_with_the_connections(collector: Collector) -> None:
    collector.open_at_reclaim = 4000
    collector.frozen_at = time.time()
    for _ in range(999):
        collector.connection_closed(0.0)
    assert not collector.tick(4000), "a quarter of 4000 have not closed yet"
    collector.connection_closed(0.0)
    assert collector.tick(3000)
    assert collector.open_at_reclaim == 3000
