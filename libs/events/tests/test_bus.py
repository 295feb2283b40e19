"""Relay and inbox consumer through the real broker."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from bus_helpers import (
    counting_handler,
    counting_observer,
    create_counter_table,
    observer,
    read_topic,
    wait_until,
)
from mend_events import metrics
from mend_events.app.settings import dlq_topic, events_topic, kafka_options
from mend_events.messaging.cloudevents import from_message
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore
from sample_events import noted


@pytest.fixture
async def store(app_pool, schema):
    s = EventStore(app_pool, schema, service="sample")
    yield s
    await s.close()


async def run_relay(store, platform, topic, **options):
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap, topic, **options)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.active.wait(), 30)
    return relay, task


async def test_relay_publishes_cloudevents_in_order_per_case(store, platform, topic_prefix):
    topic = events_topic("sample", topic_prefix)
    for v in range(5):
        await store.append("case-r1aaaa", [noted(v)], expected_version=v)
    await store.append("case-r2aaaa", [noted(100)], expected_version=0)
    relay, task = await run_relay(store, platform, topic)
    try:
        records = await read_topic(platform.kafka_bootstrap, topic, expect=6)
    finally:
        relay.stop()
        await task
    events = [from_message(r.value, r.headers) for r in records]
    assert sorted(e.decode().n for e in events) == [0, 1, 2, 3, 4, 100]
    case1 = [e for e in events if e.case_id == "case-r1aaaa"]
    assert [e.stream_version for e in case1] == [1, 2, 3, 4, 5]
    assert all(r.key == b"case-r1aaaa" for r in records if r.key != b"case-r2aaaa")
    headers = dict(records[0].headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_subject"] == records[0].key
    assert b"ce_correlationid" in {k.encode() for k in headers}


async def test_relay_publishing_while_cases_append_keeps_each_cases_order(
    store, platform, topic_prefix
):
    """Events appended to three cases at once while the relay runs, one event a batch: each
    case's events reach the topic once each, in order, and the relay's position reaches the
    store's head."""
    topic = events_topic("sample", topic_prefix)
    relay, task = await run_relay(store, platform, topic, batch_size=1)
    cases = [f"case-pl{c}aaaa" for c in range(3)]
    try:
        for v in range(20):
            await asyncio.gather(
                *(store.append(case, [noted(v)], expected_version=v) for case in cases)
            )
        records = await read_topic(platform.kafka_bootstrap, topic, expect=60)
        assert await wait_until(lambda: _published(relay, 60))
        assert relay.position == await store.head_position()
    finally:
        relay.stop()
        await task
    events = [from_message(r.value, r.headers) for r in records]
    for case in cases:
        assert [e.stream_version for e in events if e.case_id == case] == list(range(1, 21))


async def _published(relay: Relay, n: int) -> bool:
    return relay.published == n


async def test_only_one_relay_is_active(store, platform, topic_prefix):
    topic = events_topic("sample", topic_prefix)
    first, t1 = await run_relay(store, platform, topic)
    second = Relay(store, platform.database_url, platform.kafka_bootstrap, topic)
    t2 = asyncio.create_task(second.run())
    await asyncio.sleep(1.0)
    assert first.active.is_set() and not second.active.is_set()
    first.stop()
    await t1
    await asyncio.wait_for(second.active.wait(), 10)  # the standby takes over
    second.stop()
    await t2


async def test_consumer_applies_once_and_dead_letters_poison(
    store, platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    dlq = dlq_topic("observer", topic_prefix)
    await create_counter_table(admin_conn, schema)
    await store.append("case-c1aaaa", [noted(1), noted(13), noted(2)], expected_version=0)
    relay, task = await run_relay(store, platform, topic)
    # A message that is no CloudEvent at all, on the same partition as the case's events.
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    await wait_until(lambda: _published(relay, 3))
    await producer.send_and_wait(topic, b"not json", key=b"case-c1aaaa")
    await producer.stop()
    await store.append("case-c1aaaa", [noted(3)], expected_version=3)

    counting = counting_handler(schema, fail_on={13})
    bound: dict = {}  # event id -> the log context its handler ran in

    async def handler(conn, event) -> None:
        bound[event.event_id] = structlog.contextvars.get_contextvars()
        await counting(conn, event)

    consumer = observer(
        platform,
        app_pool,
        schema,
        topic,
        topic_prefix,
        handler,
        dlq_topic=dlq,
        max_attempts=3,
        retry_delay=0.01,
    )
    dead_before = {
        r: metrics.DEAD_LETTERS.labels(consumer.name, r)._value.get()
        for r in ("MalformedMessage", "RuntimeError")
    }
    await consumer.start()
    try:

        async def all_good_seen():
            return await admin_conn.fetchval(f"SELECT count(*) FROM {schema}.seen") == 3

        await wait_until(all_good_seen)
        dead = await read_topic(platform.kafka_bootstrap, dlq, expect=2)
    finally:
        await consumer.stop()
        relay.stop()
        await task
    rows = await admin_conn.fetch(f"SELECT n, times FROM {schema}.seen ORDER BY n")
    assert [(r["n"], r["times"]) for r in rows] == [(1, 1), (2, 1), (3, 1)]
    errors = sorted(dict(r.headers)["dlq_error"].decode() for r in dead)
    assert errors[0].startswith("MalformedMessage")
    assert errors[1] == "RuntimeError"
    attempts = {dict(r.headers)["dlq_error"]: dict(r.headers)["dlq_attempts"] for r in dead}
    assert attempts[b"RuntimeError"] == b"3"
    assert all(r.value == b"" for r in dead)  # no body: only ids, where, and kinds of error
    # The operator sees both, by kind; the handler's logs carried the message's ids.
    for reason, before in dead_before.items():
        assert metrics.DEAD_LETTERS.labels(consumer.name, reason)._value.get() == before + 1
    stored = {e.event_id: e for e in await store.read_all(0, 10)}
    for event_id, context in bound.items():
        event = stored[event_id]
        assert context["causation_id"] == str(event_id)
        assert context["correlation_id"] == str(event.metadata.correlation_id)
    assert len(bound) >= 4


async def _published(relay, n):
    return relay.published >= n


async def test_relay_checkpoint_moves_once_per_interval_and_when_caught_up(
    store, platform, admin_conn, schema, topic_prefix
):
    """Under load the checkpoint is written at most once per interval, not once per publish;
    once the relay has caught up, it is written at once."""
    topic = events_topic("sample", topic_prefix)
    for v in range(0, 1000, 100):
        await store.append("case-ck1aaa", [noted(n) for n in range(v, v + 100)], expected_version=v)
    head = await store.head_position()

    async def checkpoint():
        return await admin_conn.fetchval(
            f"SELECT position FROM {schema}.relay_checkpoint WHERE topic = $1", topic
        )

    relay, task = await run_relay(store, platform, topic, batch_size=50, checkpoint_interval=3600)
    seen_while_publishing = set()
    try:
        while relay.published < 1000:
            seen_while_publishing.add(await checkpoint())
            await asyncio.sleep(0.005)
        assert await wait_until(lambda: _checkpoint_is(checkpoint, head))
    finally:
        relay.stop()
        await task
    assert seen_while_publishing - {head} == {None}  # 20 publishes, no checkpoint among them


async def test_consumer_stop_commits_what_it_applied(
    store, platform, admin_conn, app_pool, schema, topic_prefix
):
    """Offsets are committed at most once per interval; stopping commits the rest, so a
    restart does not redeliver what was applied."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = events_topic("sample", topic_prefix)
    group = f"obs-{topic_prefix}"
    await create_counter_table(admin_conn, schema)
    relay, task = await run_relay(store, platform, topic)
    consumer = counting_observer(
        platform, app_pool, schema, topic, topic_prefix, commit_interval=3600
    )
    await consumer.start()
    try:
        for round_, stream in enumerate(("case-cm1aaa", "case-cm2aaa", "case-cm3aaa")):
            await store.append(stream, [noted(round_)], expected_version=0)

            async def seen(n=round_ + 1):
                return await admin_conn.fetchval(f"SELECT count(*) FROM {schema}.seen") == n

            await wait_until(seen)
    finally:
        await consumer.stop()
        relay.stop()
        await task
    reader = AIOKafkaConsumer(
        **kafka_options(platform.kafka_bootstrap), group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for p in reader.partitions_for_topic(topic) or await _partitions(reader, topic)
        ]
        ends = await reader.end_offsets(partitions)
        committed = {tp: await reader.committed(tp) or 0 for tp in partitions}
    finally:
        await reader.stop()
    assert sum(ends.values()) == 3
    assert committed == ends


async def _partitions(reader, topic):
    await reader._client.force_metadata_update()
    return reader.partitions_for_topic(topic)


async def _checkpoint_is(checkpoint, position):
    return await checkpoint() == position


async def test_relay_without_a_broker_retries_closes_its_producers_and_stops(
    store, platform, topic_prefix
):
    """A broker that is away: each attempt's producer is closed (none left open), and
    stopping does not wait on it."""
    import gc
    import warnings

    topic = events_topic("sample", topic_prefix)
    await store.append("case-nb1aaa", [noted(1)], expected_version=0)
    relay = Relay(store, platform.database_url, "127.0.0.1:9", topic)  # nothing listens there
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(3.0)  # a few attempts, a second apart
        relay.stop()
        await asyncio.wait_for(task, 10)
        gc.collect()
    assert relay.published == 0
    assert not [w for w in caught if "Unclosed AIOKafkaProducer" in str(w.message)]
