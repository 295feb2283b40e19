"""The real broker survives a crash: idempotent producer, consumer group committing after
processing, `kill -9` mid-stream, restart on the same data, every acked message found."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from mend_events.app.settings import kafka_options

TOTAL = 1500
KEYS = 12


# It kills the broker every other test talks to: never beside them (`make test` runs the
# parallel workers first, then this alone).
@pytest.mark.serial
async def test_acked_messages_survive_broker_kill(platform, launcher, unique):
    topic = f"smoke.{unique}"
    admin = AIOKafkaAdminClient(**kafka_options(platform.kafka_bootstrap))
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()

    producer = AIOKafkaProducer(
        **kafka_options(platform.kafka_bootstrap),
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=60_000,
        retry_backoff_ms=200,
        linger_ms=2,
    )
    await producer.start()
    acked: dict[int, tuple[int, int]] = {}  # seq -> (partition, offset)
    local = launcher.Settings.from_env()

    async def produce() -> None:
        for seq in range(TOTAL):
            key = f"case-{seq % KEYS}".encode()
            value = str(seq).encode()
            while True:  # the application's own retry: a crash may fail a send; resend it
                try:
                    meta = await producer.send_and_wait(topic, value, key=key)
                    acked[seq] = (meta.partition, meta.offset)
                    break
                except KafkaError:
                    await asyncio.sleep(0.5)
            if seq == TOTAL // 3:
                crash_started.set()

    crash_started = asyncio.Event()
    task = asyncio.create_task(produce())
    await crash_started.wait()
    await asyncio.to_thread(launcher.kill_kafka, local)
    await asyncio.to_thread(launcher.start_kafka, local)
    await asyncio.wait_for(task, timeout=180)
    await producer.stop()
    assert len(acked) == TOTAL

    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(platform.kafka_bootstrap),
        group_id=f"smoke-{unique}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    seen: list[tuple[str, int]] = []
    try:
        while len({s for _, s in seen}) < TOTAL:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), timeout=30)
            for records in batch.values():
                seen.extend((r.key.decode(), int(r.value)) for r in records)
            await consumer.commit()  # after processing, never on receipt
    finally:
        await consumer.stop()

    unique_seqs = {s for _, s in seen}
    assert unique_seqs == set(range(TOTAL))
    # In order per key after de-duplication.
    per_key: dict[str, list[int]] = defaultdict(list)
    for key, seq in seen:
        if seq not in per_key[key]:
            per_key[key].append(seq)
    for key, seqs in per_key.items():
        assert seqs == sorted(seqs), f"order broken for {key}"
