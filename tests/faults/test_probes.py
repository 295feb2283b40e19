"""The probes when PostgreSQL stops under a running service (`make fault`: it stops the shared
database): liveness stays up (a restart would not bring the database back), readiness drops and
names the database, and every part recovers by itself once it is back: the relay and the
projection runners outlive the outage (the relay died of asyncpg's InterfaceError before, and
with it the publishing of every later event, withdrawals too: this test failed then)."""

from __future__ import annotations

import asyncio

import pytest
from bus_helpers import wait_until
from mend_consent.app import build
from mend_testkit.fixtures import running_service

pytestmark = pytest.mark.fault


async def test_the_probes_when_the_database_stops_and_comes_back(
    platform, launcher, unique, topic_prefix
):
    local = launcher.Settings.from_env()
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as (client, _, _):
        assert (await client.get("/health/ready")).status_code == 200
        try:
            await asyncio.to_thread(launcher.stop_postgres, local)
            live = await client.get("/health/live")
            ready = await client.get("/health/ready")
            assert live.status_code == 200
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["database"] is False
        finally:
            await asyncio.to_thread(launcher.start_postgres, local)

        last: dict = {}

        async def ready_again() -> bool:
            r = await client.get("/health/ready")
            last.update(r.json().get("checks", {}))
            return r.status_code == 200

        def still_down(_: object) -> AssertionError:
            return AssertionError(f"not ready again: {last}")

        await wait_until(ready_again, timeout=60, timed_out=still_down)
        assert last == {"started": True, "database": True, "relay": True, "projections": True,
                        "consumers": True, "broker": True}, last  # fmt: skip
        assert (await client.get("/health/live")).status_code == 200
