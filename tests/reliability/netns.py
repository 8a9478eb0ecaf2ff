"""
Several hosts on one machine, for faults that cross a network: each host is a network
namespace joined by a veth pair to a bridge in the test's own namespace (where the test's
clients run). `cut(a, b)` drops every packet between two hosts (a blackhole route on each
side: established connections hang as in a real partition); `heal(a, b)` restores them.
Latency is added by tests/reliability/delay_proxy.py on the links that need it. Needs root
(`ip netns`).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Host:
    name: str
    namespace: str
    address: str

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]


class Network:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:4]
        self.subnet = self._free_subnet()
        self.bridge = f"slb{self.id}"
        self.hosts: list[Host] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    @staticmethod
    def _free_subnet() -> str:
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
        for _ in range(100):
            subnet = f"10.231.{random.randint(1, 254)}"
            if f"{subnet}." not in routes:
                return subnet
        raise RuntimeError("no free 10.231.x.0/24 subnet for the test network")

    def add(self, name: str) -> Host:
        n = len(self.hosts) + 1
        host = Host(name, f"sl{self.id}-{name}", f"{self.subnet}.{10 + n}")
        inside, outside = f"sl{self.id}{n}h", f"sl{self.id}{n}b"
        _ip("netns", "add", host.namespace)
        self.hosts.append(host)
        _ip("link", "add", inside, "type", "veth", "peer", "name", outside)
        _ip("link", "set", inside, "netns", host.namespace)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        ns = ["-n", host.namespace]
        _ip(*ns, "link", "set", "lo", "up")
        _ip(*ns, "addr", "add", f"{host.address}/24", "dev", inside)
        _ip(*ns, "link", "set", inside, "up")
        return host

    def cut(self, a: Host, b: Host) -> None:
        _ip("-n", a.namespace, "route", "add", "blackhole", f"{b.address}/32")
        _ip("-n", b.namespace, "route", "add", "blackhole", f"{a.address}/32")

    def heal(self, a: Host, b: Host) -> None:
        _ip("-n", a.namespace, "route", "del", "blackhole", f"{b.address}/32")
        _ip("-n", b.namespace, "route", "del", "blackhole", f"{a.address}/32")

    def close(self) -> None:
        for host in self.hosts:
            with contextlib.suppress(RuntimeError):
                _ip("netns", "delete", host.namespace)  # takes its end of the veth pair along
        with contextlib.suppress(RuntimeError):
            _ip("link", "delete", self.bridge)


@contextlib.contextmanager
def network() -> Iterator[Network]:
    """A test network; skips (saying why) only where network namespaces are not permitted."""
    if shutil.which("ip") is None:
        raise AssertionError("the across-hosts tests need iproute2 (ip): apt-get install iproute2")
    probe = f"slprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here ({made.stderr.strip()}): run as root")
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    net = Network()
    try:
        yield net
    finally:
        net.close()
