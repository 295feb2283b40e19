"""A read-only consumer (`InboxConsumer(read_only=True)`, the web app's case index): no
producer, so a message it cannot apply is logged and counted, never published anywhere, and
the partition moves on to the next message."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from bus_helpers import counting_handler, create_counter_table, observer, read_topic, wait_until
from mend_events.app.settings import events_topic, kafka_options
from test_consumer_validation import message


async def test_a_read_only_consumer_skips_what_it_cannot_apply_and_publishes_nothing(
    platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_counter_table(admin_conn, schema)
    _, bad_key, bad, bad_headers = message("not a number")
    genuine, key, value, headers = message(1)
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    try:
        await producer.send_and_wait(topic, bad, key=bad_key, headers=bad_headers, partition=0)
        await producer.send_and_wait(topic, value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()
    consumer = observer(platform, app_pool, schema, topic, topic_prefix,
                        counting_handler(schema), name="reader", read_only=True)  # fmt: skip
    await consumer.start()
    try:
        await wait_until(lambda: _settled(consumer))
    finally:
        await consumer.stop()
    assert (consumer.processed, consumer.dead_lettered) == (1, 1)
    rows = await admin_conn.fetch(f"SELECT event_id FROM {schema}.seen")
    assert [r["event_id"] for r in rows] == [genuine.event_id]
    assert await read_topic(platform.kafka_bootstrap, consumer.dlq_topic, 1, timeout=2) == []


async def _settled(consumer) -> bool:
    return consumer.processed + consumer.dead_lettered >= 2
