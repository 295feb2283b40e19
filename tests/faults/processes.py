"""Service processes for the fault matrix (see service_process.py), and what a test asks of
them over HTTP: their probes and their Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from mend_testkit.waiting import wait_until

from tests.faults.harness import ROOT, child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceProcess:
    proc: asyncio.subprocess.Process
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def get(self, path: str, timeout: float = 5.0) -> httpx.Response | None:
        """The answer to GET `path`, or None when the process does not answer."""
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as http:
                return await http.get(path)
        except httpx.HTTPError:
            return None

    async def ready(self) -> bool:
        r = await self.get("/health/ready")
        return r is not None and r.status_code == 200

    async def metric(self, name: str) -> float:
        """The sum of a metric's samples (all labels), from /metrics."""
        r = await self.get("/metrics")
        assert r is not None and r.status_code == 200, "no /metrics"
        total = 0.0
        for line in r.text.splitlines():
            if line.startswith(name) and line[len(name)] in " {":
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)


async def start_service(
    platform,
    service: str,
    schema: str,
    prefix: str,
    log: Path,
    *,
    options: dict[str, int] | None = None,
    prefix_cmd: list[str] | None = None,
    host: str = "127.0.0.1",
    reach: str = "127.0.0.1",
    env: dict[str, str] | None = None,
) -> ServiceProcess:
    """Start `service` on `schema` and topics `prefix`; return once its readiness answers 200.
    `prefix_cmd` runs it under another command (`ip netns exec ...`); `reach` is the address
    this process reaches it at."""
    port = free_port()
    script = str(ROOT / "tests" / "faults" / "service_process.py")
    args = [sys.executable, script, service, "--schema", schema, "--prefix", prefix,
            "--port", str(port), "--host", host]  # fmt: skip
    for k, v in (options or {}).items():
        args += ["--option", f"{k}={v}"]
    out = await asyncio.to_thread(log.open, "ab")  # the child's output, closed once it runs
    try:
        proc = await asyncio.create_subprocess_exec(
            *(prefix_cmd or []), *args, env={**child_env(platform), **(env or {})}, cwd=ROOT,
            stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    finally:
        out.close()
    running = ServiceProcess(proc, f"http://{reach}:{port}", log)

    async def ready() -> bool:
        assert proc.returncode is None, f"{service} exited ({proc.returncode}); see {log}"
        return await running.ready()

    await wait_until(ready, timeout=60, interval=0.2)
    return running


@contextlib.asynccontextmanager
async def stopped_after(*services: ServiceProcess) -> AsyncIterator[None]:
    """Kill whatever of `services` still runs when the block ends."""
    try:
        yield
    finally:
        for s in services:
            if s.proc.returncode is None:
                s.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(s.proc.wait(), 10)
