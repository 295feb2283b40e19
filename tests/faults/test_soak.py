"""Row a of the fault matrix: the broker killed with SIGKILL three times while 40 writers
append and the relay publishes. Every append the store acknowledged is consumed after the
restarts, the projection equals the replay of the store (each event applied once, per case in
version order: the key's order kept), within a bound."""

from __future__ import annotations

import asyncio
import time

import pytest
from bus_helpers import observer, wait_until
from mend_events.app.settings import events_topic
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore

from tests.faults.harness import (
    Writers,
    applied_count,
    applying,
    assert_acknowledged_consumed,
    assert_projection_equals_replay,
    create_projection,
    stored_count,
)

pytestmark = pytest.mark.fault

CASES, KILLS = 40, 3
CATCH_UP_BOUND = 120.0  # seconds from the last restart until everything is consumed


async def test_broker_killed_repeatedly_under_load(
    platform, launcher, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_projection(admin_conn, schema)
    store = EventStore(app_pool, schema, service="sample")
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    relay_task = asyncio.create_task(relay.run())
    consumer = observer(platform, app_pool, schema, topic, topic_prefix, applying(schema))
    await consumer.start()
    local = launcher.Settings.from_env()
    writers = Writers(store, CASES, "sa")
    writers.start()
    try:
        for _ in range(KILLS):
            await writers.until(len(writers.acknowledged) + 300)
            await asyncio.to_thread(launcher.kill_kafka, local)
            await asyncio.to_thread(launcher.start_kafka, local)
        restarted = time.monotonic()
        await writers.until(len(writers.acknowledged) + 300)
        await writers.stop()
        total = await stored_count(admin_conn, schema)

        async def all_applied() -> bool:
            return await applied_count(admin_conn, schema) >= total

        await wait_until(all_applied, timeout=CATCH_UP_BOUND)
        caught_up = time.monotonic() - restarted
    finally:
        await writers.stop()
        await consumer.stop()
        relay.stop()
        await relay_task
        await store.close()
    await assert_acknowledged_consumed(admin_conn, schema, writers.acknowledged)
    await assert_projection_equals_replay(admin_conn, schema)
    assert caught_up < CATCH_UP_BOUND
