"""Verification against the real PostgreSQL and Kafka: chains hold and the bus matches, then a
store event missing from Kafka, a row tampered with by a superuser, a forged message: each is
named by service, stream and version. Verification takes a consistent cut: events appended
past a relay's checkpoint are "not yet published" (counted, no failure), on a busy platform
too."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from mend_audit import verify_kafka as verify_module
from mend_audit.reader import AuditReader
from mend_events.app.settings import SERVICES, events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import AftercareDeclined
from mend_events.contracts.catalog.consent import IncentiveReported
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import ensure_topics
from mend_events.store import row_to_event
from mend_testkit.forgery import as_superuser, publish_all, publish_forged
from mend_testkit.written_cases import HP, withdrawal_journey


async def published_journey(platform, audit, writer, topic_prefix: str, case: str):
    """A withdrawal journey stored and published; returns the risk store's first row (the one
    a forger copies)."""
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await withdrawal_journey(writer, case)
    await publish_all(platform, writer, topic_prefix)
    async with audit.pool.acquire() as conn:
        return await conn.fetchrow(
            f"SELECT * FROM {audit.schemas['risk']}.events ORDER BY global_position LIMIT 1"
        )


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

    # 1. An event the relay has not published yet (past its checkpoint): counted, no failure.
    late = await writer.record(
        "aftercare", "case-ver00001", AftercareDeclined(), HP, Role.HARMED_PERSON
    )
    report = await reader.verify(services=["aftercare"])
    assert report.ok, report.lines()
    (aftercare,) = report.services
    assert (aftercare.unpublished, aftercare.head) == (1, aftercare.checkpoint + 1)
    assert "1 not yet published" in report.lines()[0]
    assert report.lines()[-1].endswith("(1 not yet published)")
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
    await as_superuser(
        platform,
        f"UPDATE {audit.schemas['consent']}.events SET data = jsonb_set(data, "
        f"'{{target}}', '\"grant\"') WHERE event_id = $1",
        withdrawn.event_id,
    )
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
    row = await published_journey(platform, audit, writer, topic_prefix, "case-ver00002")
    # A forged copy of a risk event under a new id, straight onto the topic.
    original = row_to_event(row, "risk")
    forged = row_to_event({**dict(row), "event_id": uuid4()}, "risk")
    await publish_forged(platform.kafka_bootstrap, events_topic("risk", topic_prefix), forged)
    report = await reader.verify(services=["risk"])
    (problem,) = report.problems
    assert problem.kind == "kafka_unknown" and problem.event_id == str(forged.event_id)
    assert (problem.stream_id, problem.stream_version) == (
        original.stream_id,
        original.stream_version,
    )


async def test_events_past_the_checkpoint_are_not_yet_published_but_a_gap_fails(
    platform, audit, writer, reader, topic_prefix
):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await withdrawal_journey(writer, "case-ver00003")
    await publish_all(platform, writer, topic_prefix)
    # The consent relay is stopped: three more events are appended, none published.
    appended = [
        await writer.record(
            "consent",
            "case-ver00003",
            IncentiveReported(report_id=uuid4(), participant_id=HP),
            HP,
            Role.HARMED_PERSON,
        )
        for _ in range(3)
    ]
    report = await reader.verify()
    assert report.ok, report.lines()
    consent = next(s for s in report.services if s.service == "consent")
    assert consent.unpublished == 3 and consent.head == consent.checkpoint + 3
    assert consent.messages == consent.events - 3
    assert all(s.unpublished == 0 for s in report.services if s.service != "consent")
    assert "3 not yet published" in "\n".join(report.lines())
    assert report.lines()[-1].startswith("OK") and "(3 not yet published)" in report.lines()[-1]
    assert report.to_dict()["services"][0]["unpublished"] == 3

    # A real gap: the checkpoint says the first of them was published, Kafka does not hold it.
    schema, topic = audit.schemas["consent"], events_topic("consent", topic_prefix)
    async with audit.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {schema}.relay_checkpoint SET position = position + 1 WHERE topic = $1",
            topic,
        )
    report = await reader.verify(services=["consent"])
    (problem,) = report.problems
    first = appended[0]
    assert (problem.kind, problem.stream_id, problem.stream_version, problem.event_id) == (
        "kafka_missing",
        "case-ver00003",
        first.version,
        str(first.event_id),
    )
    assert report.services[0].unpublished == 2
    lines = "\n".join(report.lines())
    assert "FAILED: 1 problem(s)" in lines
    assert f"consent stream case-ver00003 version {first.version}" in lines

    # A tampered row among those not yet published is still named, by its chain.
    last = appended[-1]
    await as_superuser(
        platform,
        f"UPDATE {schema}.events SET data = jsonb_set(data, '{{participant_id}}', "
        f"'\"hp-other01\"') "
        f"WHERE event_id = $1",
        last.event_id,
    )
    report = await reader.verify(services=["consent"])
    assert {(p.kind, p.stream_version) for p in report.problems} == {
        ("kafka_missing", first.version),
        ("chain", last.version),
    }

    # A checkpoint past everything stored is a break of its own, besides the events it skips.
    async with audit.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {schema}.relay_checkpoint SET position = position + 10 WHERE topic = $1",
            topic,
        )
    kinds = [p.kind for p in (await reader.verify(services=["consent"], kafka=True)).problems]
    assert "checkpoint_ahead" in kinds and kinds.count("kafka_missing") == 3


async def test_events_published_after_the_cut_are_checked_too(
    platform, audit, writer, reader, topic_prefix, monkeypatch
):
    """Between the cut and the reading of Kafka the relay publishes an event appended after the
    cut: it is no failure (the store holds it), and its copy is still compared."""
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await withdrawal_journey(writer, "case-ver00004")
    await publish_all(platform, writer, topic_prefix)
    read_topic = verify_module._read_topic
    appended = []

    async def busy_read_topic(bootstrap, topic, service, within):
        if service == "aftercare" and not appended:
            appended.append(
                await writer.record(
                    "aftercare", "case-ver00004", AftercareDeclined(), HP, Role.HARMED_PERSON
                )
            )
            await publish_all(platform, writer, topic_prefix, ["aftercare"])
        return await read_topic(bootstrap, topic, service, within)

    monkeypatch.setattr(verify_module, "_read_topic", busy_read_topic)
    report = await reader.verify(services=["aftercare"])
    assert report.ok, report.lines()
    (aftercare,) = report.services
    assert (aftercare.published_after_cut, aftercare.unpublished) == (1, 0)
    assert aftercare.messages == aftercare.events + 1
    monkeypatch.setattr(verify_module, "_read_topic", read_topic)
    report = await reader.verify(services=["aftercare"])
    assert report.ok and report.services[0].messages == report.services[0].events


async def test_verify_holds_while_events_are_appended_and_published(
    platform, audit, writer, reader, topic_prefix
):
    """A busy platform: a relay publishes while events keep being appended. Every verification
    taken meanwhile holds; what the relay had not reached at its cut is counted apart."""
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await withdrawal_journey(writer, "case-ver00005")
    await publish_all(platform, writer, topic_prefix)
    relay = Relay(
        writer.stores["aftercare"],
        platform.database_url,
        platform.kafka_bootstrap,
        events_topic("aftercare", topic_prefix),
        poll_interval=0.01,
    )
    running = asyncio.create_task(relay.run())
    stop = asyncio.Event()

    async def append() -> int:
        n = 0
        while not stop.is_set():
            await writer.record(
                "aftercare", f"case-busy{n % 7:04d}", AftercareDeclined(), HP, Role.HARMED_PERSON
            )
            n += 1
            await asyncio.sleep(0.002)
        return n

    appending = asyncio.create_task(append())
    try:
        reports = []
        for _ in range(4):
            reports.append(await reader.verify(services=["aftercare"]))
    finally:
        stop.set()
        appended = await appending
        relay.stop()
        await running
    assert appended > 0
    for report in reports:
        assert report.ok, report.lines()
    assert sum(r.services[0].events for r in reports) > 4 * 4  # the store grew meanwhile


async def test_a_forged_message_leaves_no_value_in_the_report(
    platform, audit, writer, reader, topic_prefix
):
    """Values a forger put into a message's attributes or body reach no auditor: the report
    names the attribute, the kind of problem and where the message is, never what it said."""
    canary = "Zoë Canary-7f3a"
    row = await published_journey(platform, audit, writer, topic_prefix, "case-ver00009")
    topic = events_topic("risk", topic_prefix)
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    try:
        for attribute in ("ce_time", "ce_actorrole", "ce_subject", "ce_streamid", "ce_type"):
            forged = row_to_event({**dict(row), "event_id": uuid4()}, "risk")
            key, value, headers = to_message(forged)
            headers = [(k, canary.encode() if k == attribute else v) for k, v in headers]
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        forged = row_to_event({**dict(row), "event_id": uuid4()}, "risk")
        key, value, headers = to_message(forged)
        await producer.send_and_wait(
            topic, value[:-1] + f',"x":"{canary}"}}'.encode(), key=key, headers=headers
        )
        await producer.send_and_wait(topic, f'{{"{canary}'.encode(), key=key, headers=headers)
    finally:
        await producer.stop()
    report = await reader.verify(services=["risk"])
    kinds = sorted(p.kind for p in report.problems)
    assert kinds == ["kafka_malformed"] * 6 + ["kafka_unknown"]
    text = str(report.to_dict()) + "\n".join(report.lines())
    assert "Canary" not in text


def test_a_reader_of_its_own_stores_reads_no_deployment_ledger():
    """Given a test's own stores, the reader verified the deployment's disclosure ledger too
    (schema `disclosure`, there once a gateway ran against the same database): its rows were
    counted with the test's, and every journey's check of the report failed."""
    own = AuditReader(None, schemas={"consent": "consent_t1"})  # type: ignore[arg-type]
    assert own.ledger_schema is None
    assert AuditReader(None).ledger_schema == "disclosure"  # type: ignore[arg-type]
    told = AuditReader(None, schemas={"consent": "consent_t1"}, ledger_schema="ledger_t1")  # type: ignore[arg-type]
    assert told.ledger_schema == "ledger_t1"
