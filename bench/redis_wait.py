"""What REALTIME_REDIS_WAIT_REPLICAS costs a history append: the latency of
`RedisHistory.append` (the Lua append, plus `WAIT N 1000` in the same round trip) against a
private master with one replica, for N = 0 and N = 1, appends one after another from one
thread, as a publisher makes them.

    .venv/bin/python bench/redis_wait.py [--appends 5000]

Prints one line per N: mean, p50, p99 and max in milliseconds. Both servers are private
throwaway redis-servers on free ports of 127.0.0.1, stopped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT / "bench"))

from targets.procs import PrivateRedis  # noqa: E402

from apps.realtime.history import RedisHistory  # noqa: E402
from apps.realtime.redis_config import parse  # noqa: E402

PAYLOAD = '{"type":"request.updated","request_id":1,"action":"created","data":{"title":"a request","status":"pending"}}'


def replica_of(master: PrivateRedis, log_dir: Path) -> PrivateRedis:
    replica = PrivateRedis(log_dir)
    replica.client().replicaof("127.0.0.1", master.port)
    deadline = time.monotonic() + 30
    while replica.client().info("replication").get("master_link_status") != "up":
        if time.monotonic() > deadline:
            raise SystemExit("the replica did not sync within 30 s")
        time.sleep(0.05)
    return replica


def measure(history: RedisHistory, appends: int) -> list[float]:
    for _ in range(200):  # warm up: script loaded, connections open
        history.append("bench.warmup", PAYLOAD)
    samples = []
    for n in range(appends):
        started = time.perf_counter()
        history.append(f"requests.unit.{n % 10}", PAYLOAD)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wait-") as tmp:
        master = PrivateRedis(Path(tmp))
        replica = replica_of(master, Path(tmp))
        try:
            target = parse(master.url())
            print(f"{args.appends} appends each, master and one replica on 127.0.0.1")
            for wait in (0, 1):
                history = RedisHistory([target], f"bench{wait}", 1000, wait_replicas=wait)
                samples = sorted(measure(history, args.appends))
                p50 = samples[len(samples) // 2]
                p99 = samples[int(len(samples) * 0.99)]
                print(
                    f"REALTIME_REDIS_WAIT_REPLICAS={wait}: mean {statistics.fmean(samples):.3f} ms, "
                    f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {samples[-1]:.3f} ms"
                )
        except redis.RedisError as exc:
            raise SystemExit(f"Redis failed during the measurement: {exc}") from exc
        finally:
            replica.stop()
            master.stop()


if __name__ == "__main__":
    main()
