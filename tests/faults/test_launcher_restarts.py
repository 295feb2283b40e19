"""The launcher's keeper (deploy/local/keeper.py): a launched service killed with SIGKILL is
started again by its keeper after the back-off (1 s, then 2 s: doubling), on its port, ready
again; `make status` says which service restarted, how often and how its last run ended; and
stopping it through the launcher starts nothing again. A real service process (sessions, on
this test's schema and topics) under the real keeper, in this test's own run directory."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import replace

import pytest
from bus_helpers import wait_until
from mend_testkit.fixtures import drop_schema, make_schema

from tests.faults.harness import ROOT, child_env
from tests.faults.processes import free_port

pytestmark = pytest.mark.fault

BACK_WITHIN = 45.0  # seconds from the kill until the service answers ready again


async def _ready(port: int) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as http:
            r = await http.get(f"http://127.0.0.1:{port}/health/ready")
            return r.status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_killed_service_is_started_again_and_reported(
    platform, launcher, unique, topic_prefix, tmp_path, capsys
):
    local = replace(launcher.Settings.from_env(), home=tmp_path)
    local.run.mkdir()
    local.logs.mkdir()
    schema = await make_schema(platform, "sessions", f"sessions_{unique}")
    port = free_port()
    command = [sys.executable, str(ROOT / "tests" / "faults" / "service_process.py"), "sessions",
               "--schema", schema, "--prefix", topic_prefix, "--port", str(port)]  # fmt: skip
    pid_file = local.run / "sessions.pid"
    launcher.start_kept(local, "sessions", command, child_env(platform))
    try:
        await wait_until(lambda: _ready(port), timeout=60, interval=0.2)
        for restart, backoff in ((1, 1.0), (2, 2.0)):
            victim = launcher.read_pid(pid_file)
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()

            async def back(victim: int = victim) -> bool:
                pid = launcher.read_pid(pid_file)
                return pid not in (None, victim) and await _ready(port)

            await wait_until(back, timeout=BACK_WITHIN, interval=0.2)
            took = time.monotonic() - killed
            assert took >= backoff  # it waited its back-off first
            kept = launcher.restarts(local, "sessions")
            assert kept["restarts"] == restart
            assert kept["last_exit"] == "SIGKILL"
            assert kept["backoff"] == backoff
            print(f"restart {restart}: ready again {took:.1f}s after the kill")
        capsys.readouterr()
        launcher.cmd_status(local)
        status = capsys.readouterr().out.splitlines()
        assert "MEND_SESSIONS_STATE=running" in status
        assert "MEND_SESSIONS_RESTARTS=2" in status
        assert "MEND_SESSIONS_LAST_EXIT=SIGKILL" in status
        assert any(line.startswith("MEND_SESSIONS_LAST_EXIT_AT=") for line in status)
        assert "MEND_CONSENT_RESTARTS" not in "\n".join(status)  # only who restarted
        service = launcher.read_pid(pid_file)
    finally:
        assert await asyncio.to_thread(launcher.stop_kept, local, "sessions")
    # Stopped on purpose: nothing started again, the service and its keeper gone.
    assert launcher.read_pid(local.run / "sessions.keeper.pid") is None
    assert service is not None and not launcher._alive(service)
    await asyncio.sleep(1.5)
    assert launcher.read_pid(pid_file) is None
    assert launcher.restarts(local, "sessions")["restarts"] == 2
    await drop_schema(platform, schema)
