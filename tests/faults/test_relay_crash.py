"""Row b of the fault matrix: a relay process killed (SIGKILL) after the broker acknowledged a
batch and before it saved its checkpoint, while appends go on. The relay that takes over
publishes that batch again: duplicates on the topic, never a loss, and the consumers' inboxes
absorb them (the projection equals the replay of the store)."""

from __future__ import annotations

import asyncio

import pytest
from bus_helpers import observer, read_topic, wait_until
from mend_events import metrics
from mend_events.app.settings import events_topic
from mend_events.messaging.cloudevents import from_message
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore

from tests.faults.harness import (
    Writers,
    applied_count,
    applying,
    assert_acknowledged_consumed,
    assert_projection_equals_replay,
    crasher,
    create_projection,
    died_of_sigkill,
    stored_count,
)

pytestmark = pytest.mark.fault


async def test_relay_killed_between_ack_and_checkpoint(
    platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_projection(admin_conn, schema)
    store = EventStore(app_pool, schema, service="sample")
    writers = Writers(store, 20, "rb")
    writers.start()
    await writers.until(200)

    proc = await crasher(platform, "relay", "--schema", schema, "--topic", topic, "--after", "3")
    await died_of_sigkill(proc, timeout=60)
    # The evidence that it died where it should: the broker holds events past the checkpoint.
    checkpoint = await admin_conn.fetchval(
        f"SELECT coalesce(max(position), 0) FROM {schema}.relay_checkpoint WHERE topic = $1", topic
    )
    records = await read_topic(platform.kafka_bootstrap, topic, expect=10**9, timeout=5)
    published = max(from_message(r.value, r.headers).global_position for r in records)
    assert published > checkpoint, (published, checkpoint)

    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    relay_task = asyncio.create_task(relay.run())
    consumer = observer(platform, app_pool, schema, topic, topic_prefix, applying(schema))
    await consumer.start()
    try:
        await writers.until(len(writers.acknowledged) + 200)
        await writers.stop()
        total = await stored_count(admin_conn, schema)

        async def all_applied() -> bool:
            return await applied_count(admin_conn, schema) >= total

        await wait_until(all_applied, timeout=90)
        head = await store.head_position()

        async def checkpointed() -> bool:
            return (
                await admin_conn.fetchval(
                    f"SELECT position FROM {schema}.relay_checkpoint WHERE topic = $1", topic
                )
                >= head
            )

        await wait_until(checkpointed, timeout=30)
        # Every duplicate the restart published has reached the consumer and been absorbed.
        absorbed = metrics.INBOX_DUPLICATES.labels(consumer.name)

        async def duplicates_seen() -> bool:
            return absorbed._value.get() >= published - checkpoint

        await wait_until(duplicates_seen, timeout=30)
    finally:
        await writers.stop()
        await consumer.stop()
        relay.stop()
        await relay_task
        await store.close()
    await assert_projection_equals_replay(admin_conn, schema)
    await assert_acknowledged_consumed(admin_conn, schema, writers.acknowledged)
