"""Row f of the fault matrix: a network partition between a sessions service process and the
broker, made by the kernel (the process runs in its own network namespace and its link to the
broker goes down; its link to PostgreSQL stays: see netns.py). While cut, the service stays
alive and is not ready (the broker named), and withdrawals published meanwhile wait on the
broker; once healed it is ready again within HEAL_BOUND, every withdrawal halts its meeting
exactly once, and every halt reaches the sessions topic (its relay reconnected)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from bus_helpers import read_topic, wait_until
from mend_events.app.settings import events_topic
from mend_events.messaging.cloudevents import from_message

from tests.faults.netns import partitionable
from tests.faults.processes import start_service, stopped_after
from tests.faults.sessions_world import sessions_world

pytestmark = pytest.mark.fault

CASES = 20
CUT = 20.0  # seconds the link stays down
NOT_READY_BOUND = 15.0  # seconds from the cut until readiness says so
HEAL_BOUND = 60.0  # seconds from the heal until ready and every halt made


async def test_partition_between_a_service_and_the_broker(
    platform, launcher, app_pool, unique, topic_prefix, tmp_path
):
    local = launcher.Settings.from_env()
    async with (
        sessions_world(platform, app_pool, unique, topic_prefix) as world,
        partitionable(unique[:6], local.pg_port, local.kafka_port) as space,
    ):
        cases = [f"case-f{unique[:6]}{i:03d}" for i in range(CASES)]
        for case in cases:
            await world.scheduled_case(case)
        service = await start_service(
            platform, "sessions", world.sessions_schema, topic_prefix, tmp_path / "s.log",
            prefix_cmd=space.exec, host="0.0.0.0", reach=space.db_inside,
        )  # fmt: skip
        conn = await asyncpg.connect(platform.admin_database_url)
        async with stopped_after(service):

            async def halted(ids) -> bool:
                return set(ids) <= set(await world.halts(conn))

            before = [await world.withdraw(c) for c in cases[:5]]
            await wait_until(lambda: halted(before), timeout=30)

            space.cut()
            cut_at = time.monotonic()
            try:
                checks: dict = {}

                async def not_ready() -> bool:
                    r = await service.get("/health/ready", timeout=10)
                    checks.update(r.json().get("checks", {}) if r is not None else {})
                    return r is not None and r.status_code == 503

                await wait_until(not_ready, timeout=NOT_READY_BOUND, interval=0.5)
                dropped = time.monotonic() - cut_at
                assert checks["broker"] is False and checks["database"] is True, checks
                live = await service.get("/health/live")
                assert live is not None and live.status_code == 200
                during = [await world.withdraw(c) for c in cases[5:]]
                await asyncio.sleep(max(0.0, CUT - (time.monotonic() - cut_at)))
                # The evidence that the cut is real: nothing published meanwhile was applied.
                assert not set(during) & set(await world.halts(conn))
            finally:
                space.heal()
            healed_at = time.monotonic()
            await wait_until(service.ready, timeout=HEAL_BOUND, interval=0.5)
            await wait_until(lambda: halted(during), timeout=HEAL_BOUND)
            healed = time.monotonic() - healed_at
            halts = await world.halts(conn)
            stored = await conn.fetch(
                f"SELECT event_id FROM {world.sessions_schema}.events "
                f"WHERE event_type = 'SessionHalted'"
            )
            topic = events_topic("sessions", topic_prefix)

            async def all_published() -> bool:
                records = await read_topic(platform.kafka_bootstrap, topic, expect=len(stored))
                published = {from_message(r.value, r.headers).event_id for r in records}
                return {r["event_id"] for r in stored} <= published

            await wait_until(all_published, timeout=HEAL_BOUND)
        await conn.close()
    print(f"row f: not ready {dropped:.1f}s after the cut; healed in {healed:.1f}s")
    assert set(halts) == set(world.withdrawals)
    assert all(len(after) == 1 for after in halts.values()), halts
    assert healed < HEAL_BOUND
