"""Stopping a consumer while a batch is in flight (a SIGTERM under load): the batch is finished
and its offsets committed before the consumer leaves its group, so the member that takes the
partitions over is not handed it again."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from bus_helpers import counting_handler, create_counter_table, observer
from mend_events.app.settings import events_topic, kafka_options
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore
from sample_events import noted


async def test_stop_finishes_the_batch_in_flight_and_commits_it(
    platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_counter_table(admin_conn, schema)
    store = EventStore(app_pool, schema, service="sample")
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    relay_task = asyncio.create_task(relay.run())
    entered, release = asyncio.Event(), asyncio.Event()
    count = counting_handler(schema)

    async def slow(conn, event) -> None:
        entered.set()
        await release.wait()  # the batch is in flight when stop() is called
        await count(conn, event)

    consumer = observer(platform, app_pool, schema, topic, topic_prefix, slow)
    await consumer.start()
    try:
        await store.append("case-sd1aaa", [noted(i) for i in range(5)], expected_version=0)
        await asyncio.wait_for(entered.wait(), 30)
        stopping = asyncio.create_task(consumer.stop())
        await asyncio.sleep(0.5)
        assert not stopping.done()  # it waits for the batch
        release.set()
        await asyncio.wait_for(stopping, 20)
    finally:
        release.set()
        relay.stop()
        await relay_task
        await store.close()
    applied = await admin_conn.fetchval(f"SELECT count(*) FROM {schema}.seen")
    assert applied == 5  # finished, not abandoned
    admin = AIOKafkaAdminClient(**kafka_options(platform.kafka_bootstrap))
    await admin.start()
    try:

        async def committed() -> int:
            offsets = await admin.list_consumer_group_offsets(consumer.name)
            return sum(max(0, meta.offset) for meta in offsets.values())

        assert await committed() == applied, "applied, but its offsets were never committed"
    finally:
        await admin.close()
