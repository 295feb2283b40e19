"""Relay to Kafka: 100,000 stored events published by mend_events.messaging.relay.Relay (from
start until
its checkpoint reaches the head) against a raw aiokafka idempotent producer sending the same
messages (key, value, headers), its send futures gathered per batch, each on a fresh topic."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from mend_events.app.settings import Settings, kafka_options
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import PARTITIONS
from mend_events.store import EventStore

from bench.common import Result, Timer, app_pool, copy_events, fresh_schema, fresh_topics, result

EVENTS = 100_000
BATCH = 2_000  # the relay's batch size; the raw producer gathers per batch of the same size


async def raw_producer(settings: Settings, topic: str, messages: list[tuple]) -> float:
    producer = AIOKafkaProducer(
        **kafka_options(settings.kafka_bootstrap), enable_idempotence=True, acks="all"
    )
    with Timer() as t:
        await producer.start()
        for i in range(0, len(messages), BATCH):
            futures = [
                await producer.send(topic, value, key=key, headers=headers)
                for key, value, headers in messages[i : i + BATCH]
            ]
            await asyncio.gather(*futures)
    await producer.stop()
    return len(messages) / t.elapsed


async def relay(settings: Settings, store: EventStore, topic: str) -> float:
    relay = Relay(store, settings.database_url, settings.kafka_bootstrap, topic, batch_size=BATCH)
    with Timer() as t:
        task = asyncio.create_task(relay.run())
        while relay.published < EVENTS:  # counted after each checkpoint write
            await asyncio.sleep(0.005)
    relay.stop()
    await task
    return EVENTS / t.elapsed


async def run(settings: Settings) -> list[Result]:
    async with (
        fresh_schema(settings, "relay") as schema,
        fresh_topics(settings, "relay", 2) as topics,
    ):
        await copy_events(settings, schema, EVENTS)
        pool = await app_pool(settings, 2)
        store = EventStore(pool, schema)
        messages = [to_message(e) for e in await store.read_all(0, EVENTS)]
        raw = await raw_producer(settings, topics[0], messages)
        ours = await relay(settings, store, topics[1])
        await pool.close()
    note = (
        f"{EVENTS:,} events, topics of {PARTITIONS} partitions; raw: AIOKafkaProducer("
        f"enable_idempotence, acks=all, other defaults), messages built by to_message "
        f"before timing, producer start included, sends gathered per {BATCH}; ours: "
        f"Relay.run from start (connect, advisory lock, producer start) until its "
        f"checkpoint reaches the head"
    )
    return [
        result("relay.kafka", ours, "events/s", "raw aiokafka idempotent producer", raw, note=note)
    ]
