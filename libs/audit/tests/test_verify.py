"""Verification against the real PostgreSQL and Kafka: chains hold and the bus matches, then a
store event missing from Kafka, a row tampered with by a superuser, a forged message: each is
named by service, stream and version."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from mend_aftercare.events import AftercareDeclined
from mend_audit.reader import AuditReader
from mend_audit.testing import HP, withdrawal_journey
from mend_events.cloudevents import to_message
from mend_events.identity_types import Role
from mend_events.relay import Relay
from mend_events.settings import SERVICES, events_topic
from mend_events.store import row_to_event
from mend_events.topics import ensure_topics


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(0.05)


async def publish_all(platform, writer, prefix: str) -> None:
    """Run each service's relay until it has published everything stored, then stop it."""
    relays = [
        Relay(
            writer.stores[s],
            platform.database_url,
            platform.kafka_bootstrap,
            events_topic(s, prefix),
            poll_interval=0.05,
        )
        for s in SERVICES
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:

        async def caught_up() -> bool:
            heads = [await r.store.head_position() for r in relays]
            async with writer.stores["consent"].pool.acquire() as conn:
                done = [
                    await conn.fetchval(
                        f"SELECT coalesce(max(position), 0) FROM {r.store.schema}.relay_checkpoint"
                    )
                    for r in relays
                ]
            return heads == done

        await until(caught_up)
    finally:
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)


@pytest.fixture
def reader(platform, audit, topic_prefix):
    return AuditReader(
        audit.pool,
        schemas=audit.schemas,
        bootstrap=platform.kafka_bootstrap,
        topic_prefix=topic_prefix,
    )


async def test_verify_passes_then_names_each_break(platform, audit, writer, reader, topic_prefix):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    w = await withdrawal_journey(writer, "case-ver00001")
    await publish_all(platform, writer, topic_prefix)

    report = await reader.verify()
    assert report.ok, report.lines()
    assert [s.messages for s in report.services] == [s.events for s in report.services]
    assert report.lines()[-1].startswith("OK")

    # 1. An event the relay has not published yet: reported, named, verification fails.
    late = await writer.record(
        "aftercare", "case-ver00001", AftercareDeclined(), HP, Role.HARMED_PERSON
    )
    report = await reader.verify(services=["aftercare"])
    (problem,) = report.problems
    assert (problem.kind, problem.service, problem.stream_id, problem.stream_version) == (
        "kafka_unpublished",
        "aftercare",
        "case-ver00001",
        late.version,
    )
    assert problem.event_id == str(late.event_id)
    # ... and one the relay's checkpoint claims was published, but Kafka does not hold.
    schema = audit.schemas["aftercare"]
    async with audit.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {schema}.relay_checkpoint SET position = position + 1 WHERE topic = $1",
            events_topic("aftercare", topic_prefix),
        )
    (problem,) = (await reader.verify(services=["aftercare"])).problems
    assert problem.kind == "kafka_missing"
    assert f"stream case-ver00001 version {late.version}" in str(problem)

    # 2. A row changed by a superuser (bypassing the immutability trigger).
    withdrawn = w["withdrawn"]
    admin = await asyncpg.connect(platform.admin_database_url)
    try:
        async with admin.transaction():
            await admin.execute("SET LOCAL session_replication_role = replica")
            await admin.execute(
                f"UPDATE {audit.schemas['consent']}.events SET data = jsonb_set(data, "
                f"'{{target}}', '\"grant\"') WHERE event_id = $1",
                withdrawn.event_id,
            )
    finally:
        await admin.close()
    report = await reader.verify(services=["consent"])
    assert not report.ok
    kinds = {(p.kind, p.stream_id, p.stream_version) for p in report.problems}
    assert kinds == {
        ("chain", "case-ver00001", withdrawn.version),
        ("kafka_mismatch", "case-ver00001", withdrawn.version),
    }
    chain = next(p for p in report.problems if p.kind == "chain")
    assert "content does not match its hash" in chain.detail
    mismatch = next(p for p in report.problems if p.kind == "kafka_mismatch")
    assert mismatch.detail.startswith("data differ")
    assert mismatch.where and f"{topic_prefix}consent.events.v1 partition" in mismatch.where
    assert any(
        f"stream case-ver00001 version {withdrawn.version}" in line for line in report.lines()
    )
    # Chains only: the tampered row is still named.
    only_chains = await reader.verify(services=["consent"], kafka=False)
    assert [p.kind for p in only_chains.problems] == ["chain"]


async def test_a_message_the_store_never_held_is_reported(
    platform, audit, writer, reader, topic_prefix
):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await withdrawal_journey(writer, "case-ver00002")
    await publish_all(platform, writer, topic_prefix)
    # A forged copy of a risk event under a new id, straight onto the topic.
    async with audit.pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT * FROM {audit.schemas['risk']}.events ORDER BY global_position LIMIT 1"
        )
    original = row_to_event(row, "risk")
    forged = row_to_event({**dict(row), "event_id": uuid4()}, "risk")
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap)
    await producer.start()
    try:
        key, value, headers = to_message(forged)
        await producer.send_and_wait(
            events_topic("risk", topic_prefix), value, key=key, headers=headers
        )
    finally:
        await producer.stop()
    report = await reader.verify(services=["risk"])
    (problem,) = report.problems
    assert problem.kind == "kafka_unknown" and problem.event_id == str(forged.event_id)
    assert (problem.stream_id, problem.stream_version) == (
        original.stream_id,
        original.stream_version,
    )
