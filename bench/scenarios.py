"""Scenario specs: a short string per scenario, and the named presets.

Grammar (the spec string is also the scenario's name in every output):
- `ws:1000@10`: fan-out, 1000 WebSocket clients on one group, 10 events/s.
- `ws:50x100@10`: fan-out, 50 groups of 100 clients, 10 events/s in total (round robin).
- `sse:1000@10`: the same over Server-Sent Events.
- `storm:ws:2000/2`: connect storm, 2000 clients started evenly over 2 s.
- `idle:ws:1000`: 1000 idle clients; server RSS growth per connection.
- `tenants:500x10@100`: multi-tenant, 500 units of 10 users, one WebSocket each (on Syncline the
  multiplexed `/ws/`, subscribed to the unit's streams and the user's notifications), 100 events/s
  in all, each created in a random unit by a random member; a receipt outside its unit counts as
  cross-unit.
- `publish:1000`: publish throughput, 1000 WebSocket clients on one group while the offered rate
  steps up (`PUBLISH_RATES`, `--duration` s each) until p99 delivery passes 100 ms; the knee is
  the last rate that kept p99 within it with everything delivered. Redis commands (and, on
  Postgres, database work) per event are counted over the whole scenario.
"""

import re
from dataclasses import dataclass

TRANSPORT_NAMES = {"ws": "WebSocket", "sse": "SSE"}

_FANOUT = re.compile(r"^(ws|sse):(?:(\d+)x)?(\d+)@(\d+(?:\.\d+)?)$")
_STORM = re.compile(r"^storm:(ws|sse):(\d+)/(\d+(?:\.\d+)?)$")
_IDLE = re.compile(r"^idle:(ws|sse):(\d+)$")
_PUBLISH = re.compile(r"^publish:(\d+)$")
# Offered events/s of the publish scenario's steps; it stops at the first step over the limit.
PUBLISH_RATES = (10, 20, 50, 100, 200, 400, 800, 1600)
PUBLISH_P99_LIMIT_MS = 100.0
_TENANTS = re.compile(r"^tenants:(\d+)x(\d+)@(\d+(?:\.\d+)?)$")

PRESETS: dict[str, list[str]] = {
    "quick": ["ws:100@10", "sse:100@10", "ws:5x20@10", "storm:ws:500/1", "idle:ws:500"],
    "key": ["ws:1000@10", "sse:1000@10"],
    "full": [
        *(f"ws:{n}@{r}" for n in (100, 1000, 5000) for r in (1, 10, 50)),
        "ws:50x100@10",
        "storm:ws:2000/2",
        "idle:ws:1000",
        "sse:100@10",
        "sse:1000@10",
        "sse:5000@10",
        "storm:sse:2000/2",
        "idle:sse:1000",
    ],
}


@dataclass(frozen=True)
class Scenario:
    """One measurement, run against every target that supports it."""

    spec: str
    kind: str  # "fanout" | "storm" | "idle" | "tenants" | "publish"
    transport: str  # "ws" | "sse"
    sockets: int
    groups: int = 1
    rate: float = 0.0  # events per second, all groups together (fan-out)
    spread_s: float = 0.0  # connect storm: start the clients over this many seconds

    @property
    def per_group(self) -> int:
        """Sockets per group (users per unit)."""
        return self.sockets // self.groups

    def describe(self, duration_s: float) -> str:
        """A sentence saying what the scenario does."""
        clients = f"{self.sockets} {TRANSPORT_NAMES[self.transport]} clients"
        if self.kind == "storm":
            return f"{clients} connecting within {self.spread_s:g} s, then one probe event"
        if self.kind == "idle":
            return f"{clients} connected and idle; server memory per connection"
        if self.kind == "publish":
            rates = "/".join(f"{r:g}" for r in PUBLISH_RATES)
            return (
                f"{clients} on one group; offered {rates} events/s, {duration_s:g} s each, until p99 "
                f"passes {PUBLISH_P99_LIMIT_MS:g} ms"
            )
        if self.kind == "tenants":
            return (
                f"{self.groups} units x {self.per_group} users, one WebSocket each on its unit's streams, "
                f"{self.rate:g} events/s in random units for {duration_s:g} s; receipts outside the unit counted"
            )
        where = "one group" if self.groups == 1 else f"{self.groups} groups of {self.sockets // self.groups}"
        return f"{clients} on {where}, {self.rate:g} events/s for {duration_s:g} s"


class ScenarioSpecError(ValueError):
    """A scenario spec that does not parse."""


def parse_scenario(spec: str) -> Scenario:
    """Parse one spec string (see the module docstring)."""
    spec = spec.strip()
    if match := _FANOUT.match(spec):
        transport, groups, per_group, rate = match.groups()
        n_groups = int(groups or 1)
        return Scenario(spec, "fanout", transport, n_groups * int(per_group), n_groups, float(rate))
    if match := _STORM.match(spec):
        transport, sockets, spread = match.groups()
        return Scenario(spec, "storm", transport, int(sockets), spread_s=float(spread))
    if match := _IDLE.match(spec):
        transport, sockets = match.groups()
        return Scenario(spec, "idle", transport, int(sockets))
    if match := _PUBLISH.match(spec):
        return Scenario(spec, "publish", "ws", int(match.group(1)))
    if match := _TENANTS.match(spec):
        units, per_unit, rate = match.groups()
        if int(units) < 1 or int(per_unit) < 1:
            raise ScenarioSpecError(f"{spec!r}: units and users per unit must be at least 1")
        return Scenario(spec, "tenants", "ws", int(units) * int(per_unit), int(units), float(rate))
    raise ScenarioSpecError(
        f"cannot parse scenario {spec!r}; expected e.g. ws:1000@10, ws:50x100@10, sse:1000@10, "
        f"storm:ws:2000/2, idle:ws:1000, tenants:500x10@100, publish:1000, or a preset: {', '.join(PRESETS)}"
    )


def parse_scenarios(text: str) -> list[Scenario]:
    """Comma-separated specs and preset names, in order, without repeats."""
    specs: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        for spec in PRESETS.get(item, [item] if item else []):
            if spec not in specs:
                specs.append(spec)
    return [parse_scenario(spec) for spec in specs]
