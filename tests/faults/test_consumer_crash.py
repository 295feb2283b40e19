"""Row c of the fault matrix: a consumer process killed (SIGKILL) after its inbox transaction
(the projection's effects) committed and before its Kafka offsets were committed, under load.
The member that takes the group over is handed those messages again; its inbox absorbs them:
the projection equals the replay of the store, nothing applied twice, nothing lost."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from bus_helpers import observer, wait_until
from mend_events import metrics
from mend_events.app.settings import dlq_topic, events_topic, kafka_options
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


async def committed_offsets(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values())


async def test_consumer_killed_between_inbox_commit_and_offset_commit(
    platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_projection(admin_conn, schema)
    store = EventStore(app_pool, schema, service="sample")
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    relay_task = asyncio.create_task(relay.run())
    writers = Writers(store, 20, "rc")
    writers.start()
    group = f"proj-{topic_prefix}"
    try:
        await writers.until(300)
        proc = await crasher(
            platform, "consumer", "--schema", schema, "--topic", topic, "--group", group,
            "--dlq", dlq_topic("proj", topic_prefix), "--after", "4",
        )  # fmt: skip
        await died_of_sigkill(proc, timeout=90)
        # The evidence: effects committed in the database beyond the offsets the group holds.
        applied = await applied_count(admin_conn, schema)
        offsets = await committed_offsets(platform.kafka_bootstrap, group)
        assert applied > offsets, (applied, offsets)

        consumer = observer(
            platform, app_pool, schema, topic, topic_prefix, applying(schema), name="proj"
        )
        assert consumer.name == group  # the same group and the same inbox
        await consumer.start()
        try:
            await writers.until(len(writers.acknowledged) + 200)
            await writers.stop()
            total = await stored_count(admin_conn, schema)

            async def all_applied() -> bool:
                return await applied_count(admin_conn, schema) >= total

            await wait_until(all_applied, timeout=90)
            absorbed = metrics.INBOX_DUPLICATES.labels(consumer.name)
            assert absorbed._value.get() >= applied - offsets  # redelivered, changed nothing
        finally:
            await consumer.stop()
    finally:
        await writers.stop()
        relay.stop()
        await relay_task
        await store.close()
    await assert_projection_equals_replay(admin_conn, schema)
    await assert_acknowledged_consumed(admin_conn, schema, writers.acknowledged)
