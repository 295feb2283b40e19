"""Crashes: the relay killed between the broker's ack and its checkpoint, and the broker
killed during publishing. Nothing acknowledged is lost; effects apply once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import defaultdict

import pytest
from bus_helpers import counting_handler, create_counter_table, observer, read_topic, wait_until
from mend_events.app.settings import events_topic
from mend_events.messaging.cloudevents import from_message
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore
from sample_events import noted


@pytest.fixture
async def store(app_pool, schema):
    s = EventStore(app_pool, schema, service="sample")
    yield s
    await s.close()


async def test_relay_killed_after_ack_before_checkpoint(
    store, platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_counter_table(admin_conn, schema)
    await store.append("case-k1aaaa", [noted(i) for i in range(5)], expected_version=0)

    env = {
        **os.environ,
        "MEND_FAILPOINT": "relay-after-ack",
        "MEND_DATABASE_URL": platform.database_url,
        "MEND_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mend_events.messaging.relay",
        "--schema",
        schema,
        "--service",
        "sample",
        "--topic",
        topic,
        env=env,
    )
    assert await asyncio.wait_for(proc.wait(), 60) == -9  # it died by SIGKILL, after the ack
    assert (
        await admin_conn.fetchval(
            f"SELECT position FROM {schema}.relay_checkpoint WHERE topic = $1", topic
        )
        is None
    )
    assert len(await read_topic(platform.kafka_bootstrap, topic, expect=5)) == 5

    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    task = asyncio.create_task(relay.run())
    consumer = observer(platform, app_pool, schema, topic, topic_prefix, counting_handler(schema))
    await consumer.start()
    try:
        records = await read_topic(platform.kafka_bootstrap, topic, expect=10)
        assert len(records) == 10  # published again after the restart

        async def consumed_all():
            return (
                consumer.processed
                + await admin_conn.fetchval(f"SELECT count(*) FROM {schema}.inbox")
                >= 10
            )

        await wait_until(consumed_all)
        await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
        relay.stop()
        await task
    rows = await admin_conn.fetch(f"SELECT n, times FROM {schema}.seen ORDER BY n")
    assert [(r["n"], r["times"]) for r in rows] == [(i, 1) for i in range(5)]


@pytest.mark.fault  # it kills the broker: `make fault`, never `make test`
async def test_broker_killed_during_publishing(store, platform, launcher, topic_prefix):
    topic = events_topic("sample", topic_prefix)
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    task = asyncio.create_task(relay.run())
    cases, per_case = 20, 60
    local = launcher.Settings.from_env()

    async def writer(case: str) -> None:
        for v in range(per_case):
            await store.append(case, [noted(v)], expected_version=v)
            await asyncio.sleep(0.005)

    writers = asyncio.gather(*(writer(f"case-b{i:04d}x") for i in range(cases)))
    await wait_until(lambda: _at_least(relay, 200))
    await asyncio.to_thread(launcher.kill_kafka, local)
    await asyncio.to_thread(launcher.start_kafka, local)
    await writers
    head = await store.head_position()
    try:
        await wait_until(lambda: _checkpoint_at(store, topic, head), timeout=120)
    finally:
        relay.stop()
        await task
    records = await read_topic(platform.kafka_bootstrap, topic, expect=cases * per_case, timeout=60)
    firsts: dict[str, list[int]] = defaultdict(list)
    seen = set()
    for r in records:
        e = from_message(r.value, r.headers)
        if e.event_id in seen:
            continue  # a re-publish after the crash: consumers' inboxes absorb it
        seen.add(e.event_id)
        firsts[e.case_id].append(e.stream_version)
    assert len(seen) == cases * per_case
    for case, versions in firsts.items():
        assert versions == list(range(1, per_case + 1)), f"order broken for {case}"


async def _at_least(relay, n):
    return relay.published >= n


async def _checkpoint_at(store, topic, head):
    async with store.pool.acquire() as conn:
        pos = await conn.fetchval(
            f"SELECT position FROM {store.schema}.relay_checkpoint WHERE topic = $1", topic
        )
    return (pos or 0) >= head
