"""Row d of the fault matrix: PostgreSQL killed (SIGKILL to the postmaster and every backend)
while 30 writers append. Every append the store acknowledged is there after the restart (WAL
recovery), each case's versions run 1..n without a gap, the hash chain verifies, and the
writers carry on by themselves once the database is back."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from mend_events.store import EventStore

from tests.faults.harness import Writers, replayed

pytestmark = pytest.mark.fault

RECOVERY_BOUND = 30.0  # seconds from the restart to the first acknowledged append after it


async def test_database_killed_during_appends(platform, launcher, app_pool, schema):
    local = launcher.Settings.from_env()
    store = EventStore(app_pool, schema, service="sample")
    writers = Writers(store, 30, "rd", pause=0.005)
    writers.start()
    try:
        await writers.until(300)
        try:
            await asyncio.to_thread(launcher.kill_postgres, local)
            before = set(writers.acknowledged)
            await asyncio.sleep(2)  # appends fail meanwhile
        finally:
            await asyncio.to_thread(launcher.start_postgres, local)
        restarted = time.monotonic()
        await writers.until(len(before) + 300, timeout=RECOVERY_BOUND + 30)
        recovered = time.monotonic() - restarted
        await writers.stop()
    finally:
        await writers.stop()
    assert writers.failures > 0  # the crash was felt
    assert recovered < RECOVERY_BOUND, recovered
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        stored = {r[0] for r in await conn.fetch(f"SELECT event_id FROM {schema}.events")}
        lost = writers.acknowledged - stored
        assert not lost, f"{len(lost)} acknowledged appends lost"
        for case, versions in (await replayed(conn, schema)).items():
            assert versions == list(range(1, len(versions) + 1)), case
    finally:
        await conn.close()
    assert await store.verify() == []
    await store.close()
