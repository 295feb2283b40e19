"""A network partition between one process and the broker, made by the kernel: a network
namespace joined to the host by two veth links, `db` (PostgreSQL, and the HTTP of the service
inside) and `bus` (the broker). Inside, 127.0.0.1:<pg port> and 127.0.0.1:<broker port> are
forwarders (forwarder.py) that cross those links to forwarders on the host's ends, which reach
the real ones on the host's 127.0.0.1: the broker advertises 127.0.0.1:<port>, so a client in
the namespace must find it there. `cut()` takes the bus link down on the host's side (packets
are dropped both ways: open connections hang, as in a real partition; PostgreSQL stays
reachable); `heal()` brings it up. Needs root and `ip netns` (the fault matrix runs as root)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.faults.harness import ROOT


def ip(*args: str, ns: str | None = None) -> None:
    cmd = ["ip", *(["netns", "exec", ns, "ip"] if ns else []), *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _delete(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


@dataclass
class Namespace:
    name: str
    db_host: str  # the host's end of the db link
    db_inside: str  # the namespace's end: where the service inside is reached
    bus_link: str  # the host's end of the bus link (the one cut)
    forwarders: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def exec(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        ip("link", "set", self.bus_link, "down")

    def heal(self) -> None:
        ip("link", "set", self.bus_link, "up")


async def _forwarder(prefix: list[str], pairs: list[str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, str(ROOT / "tests" / "faults" / "forwarder.py"), *pairs,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 10)
    assert line.strip() == b"ready", line
    return proc


@contextlib.asynccontextmanager
async def partitionable(tag: str, pg_port: int, kafka_port: int) -> AsyncIterator[Namespace]:
    net = random.randrange(1, 250)
    db, bus = f"10.213.{net}", f"10.214.{net}"
    name = f"mendf{tag}"
    ip("netns", "add", name)
    try:
        ip("link", "set", "lo", "up", ns=name)
        for link, subnet in (("d", db), ("b", bus)):
            host, inside = f"mf{link}{tag}h", f"mf{link}{tag}n"
            ip("link", "add", host, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", name)
            ip("addr", "add", f"{subnet}.1/30", "dev", host)
            ip("link", "set", host, "up")
            ip("addr", "add", f"{subnet}.2/30", "dev", inside, ns=name)
            ip("link", "set", inside, "up", ns=name)
        space = Namespace(name, f"{db}.1", f"{db}.2", f"mfb{tag}h")
        space.forwarders.append(await _forwarder([], [
            f"{db}.1:{pg_port}=127.0.0.1:{pg_port}",
            f"{bus}.1:{kafka_port}=127.0.0.1:{kafka_port}",
        ]))  # fmt: skip
        space.forwarders.append(await _forwarder(space.exec, [
            f"127.0.0.1:{pg_port}={db}.1:{pg_port}",
            f"127.0.0.1:{kafka_port}={bus}.1:{kafka_port}",
        ]))  # fmt: skip
        try:
            yield space
        finally:
            for proc in space.forwarders:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    finally:
        # Deleting the namespace deletes its ends of the veth pairs, and with them the pairs.
        _delete(name)
