"""Fault injection under load (`make fault`): the broker is killed with SIGKILL several times
while events are appended, published and consumed. At the end every stored event has been
applied exactly once by the consumer, in per-case order, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time

import pytest
from bus_helpers import observer, wait_until
from mend_events.app.settings import events_topic
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore
from sample_events import noted

pytestmark = pytest.mark.fault

CASES, PER_CASE, KILLS = 40, 50, 3


async def test_broker_killed_repeatedly_under_load(
    platform, launcher, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await admin_conn.execute(
        f"CREATE TABLE {schema}.applied (case_id text, version int, times int DEFAULT 1, "
        f"seq bigserial, PRIMARY KEY (case_id, version))"
    )
    await admin_conn.execute(f"GRANT SELECT, INSERT, UPDATE ON {schema}.applied TO mend_app")
    await admin_conn.execute(f"GRANT USAGE ON SEQUENCE {schema}.applied_seq_seq TO mend_app")

    async def apply(conn, event) -> None:
        await conn.execute(
            f"INSERT INTO {schema}.applied (case_id, version) VALUES ($1, $2) ON CONFLICT "
            f"(case_id, version) DO UPDATE SET times = {schema}.applied.times + 1",
            event.case_id,
            event.stream_version,
        )

    store = EventStore(app_pool, schema, service="sample")
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    relay_task = asyncio.create_task(relay.run())
    consumer = observer(platform, app_pool, schema, topic, topic_prefix, apply, name="soak")
    await consumer.start()
    local = launcher.Settings.from_env()

    async def writer(case: str) -> None:
        for v in range(PER_CASE):
            await store.append(case, [noted(v)], expected_version=v)
            await asyncio.sleep(0.02)

    async def chaos() -> None:
        for _ in range(KILLS):
            await asyncio.sleep(4)
            await asyncio.to_thread(launcher.kill_kafka, local)
            await asyncio.to_thread(launcher.start_kafka, local)

    started = time.monotonic()
    try:
        await asyncio.gather(chaos(), *(writer(f"case-s{i:04d}x") for i in range(CASES)))
        total = CASES * PER_CASE

        async def all_applied():
            return await admin_conn.fetchval(f"SELECT count(*) FROM {schema}.applied") == total

        await wait_until(all_applied, timeout=240)
    finally:
        await consumer.stop()
        relay.stop()
        await relay_task
        await store.close()
    assert await admin_conn.fetchval(f"SELECT max(times) FROM {schema}.applied") == 1
    # Per case, the consumer applied versions in order: 1, 2, 3, ... with no gap.
    rows = await admin_conn.fetch(
        f"SELECT case_id, array_agg(version ORDER BY seq) AS versions FROM {schema}.applied "
        f"GROUP BY case_id"
    )
    for row in rows:
        assert row["versions"] == list(range(1, PER_CASE + 1)), row["case_id"]
    assert time.monotonic() - started < 600
