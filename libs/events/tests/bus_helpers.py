"""Helpers for the library's bus tests: a counting projection table and a Kafka reader."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer
from mend_events.app.settings import dlq_topic, kafka_options
from mend_events.messaging.consumer import InboxConsumer
from mend_testkit.waiting import wait_until as wait_until  # the tests' one poll


async def create_counter_table(admin_conn, schema: str) -> None:
    await admin_conn.execute(
        f"CREATE TABLE {schema}.seen (event_id uuid PRIMARY KEY, n int NOT NULL, "
        f"times int NOT NULL DEFAULT 1)"
    )
    await admin_conn.execute(f"GRANT SELECT, INSERT, UPDATE ON {schema}.seen TO mend_app")


def counting_handler(schema: str, fail_on: set[int] | None = None):
    async def handle(conn, event) -> None:
        n = event.decode().n
        if fail_on and n in fail_on:
            raise RuntimeError("handler always fails for this one")
        # `times` would grow if an event's effect were applied twice.
        await conn.execute(
            f"INSERT INTO {schema}.seen (event_id, n) VALUES ($1, $2) "
            f"ON CONFLICT (event_id) DO UPDATE SET times = {schema}.seen.times + 1",
            event.event_id,
            n,
        )

    return handle


async def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30.0):
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    records = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


def observer(
    platform, pool, schema: str, topic: str, prefix: str, handler, *, name: str = "obs", **options
) -> InboxConsumer:
    """A consumer group `<name>-<prefix>` of `topic`, applying `handler` in `schema`'s inbox,
    dead letters to its own DLQ topic unless `options` name another."""
    options.setdefault("dlq_topic", dlq_topic(name, prefix))
    return InboxConsumer(
        name=f"{name}-{prefix}",
        pool=pool,
        schema=schema,
        bootstrap=platform.kafka_bootstrap,
        topics=[topic],
        handler=handler,
        **options,
    )


def counting_observer(
    platform,
    pool,
    schema: str,
    topic: str,
    prefix: str,
    *,
    fail_on: set[int] | None = None,
    **options,
) -> InboxConsumer:
    """An `observer` that counts each event it applies in `schema.seen` (create_counter_table),
    failing every time on the numbers in `fail_on`."""
    return observer(
        platform, pool, schema, topic, prefix, counting_handler(schema, fail_on), **options
    )
