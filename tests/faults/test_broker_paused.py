"""Row e of the fault matrix: the broker frozen (SIGSTOP) for 30 s while writers append, the
relay publishes and a consumer applies; then SIGCONT. Nothing is lost, nothing applied twice,
per-case order kept, and everything appended during the pause is consumed within
RECOVERY_BOUND of the broker's return (its clients' requests and the group's sessions time out
while it is frozen; what they do after it wakes is what this row checks)."""

from __future__ import annotations

import asyncio
import os
import signal
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

PAUSE = 30.0
RECOVERY_BOUND = 60.0


async def test_broker_frozen_for_30_seconds_under_load(
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
    pid = launcher.read_pid(local.run / "kafka.pid")
    assert pid is not None
    writers = Writers(store, 20, "re", pause=0.05)
    writers.start()
    try:
        await writers.until(300)
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(PAUSE)
            appended_while_frozen = await stored_count(admin_conn, schema)
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()

        async def caught_up_with_pause() -> bool:
            return await applied_count(admin_conn, schema) >= appended_while_frozen

        await wait_until(caught_up_with_pause, timeout=RECOVERY_BOUND + 30)
        recovery = time.monotonic() - resumed
        await writers.stop()
        total = await stored_count(admin_conn, schema)

        async def all_applied() -> bool:
            return await applied_count(admin_conn, schema) >= total

        await wait_until(all_applied, timeout=60)
    finally:
        await writers.stop()
        await consumer.stop()
        relay.stop()
        await relay_task
        await store.close()
    await assert_acknowledged_consumed(admin_conn, schema, writers.acknowledged)
    await assert_projection_equals_replay(admin_conn, schema)
    assert recovery < RECOVERY_BOUND, f"recovered {recovery:.1f}s after SIGCONT"
