"""A service's own principal can still write its topics, so a forgery by (or through) a
service is caught downstream: `mend audit verify` compares Kafka against the stores and names
every event on a topic that no store holds (`make fault`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from mend_audit.cli import main
from mend_events.app.settings import SERVICES, KafkaAuth, events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.messaging import acls
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import ensure_topics
from mend_testkit.written_cases import withdrawal_journey

pytestmark = pytest.mark.fault


async def publish_all(platform, writer, prefix: str) -> None:
    """Each service's relay, until its checkpoint reaches its store's head."""
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
        for relay in relays:
            head = await relay.store.head_position()
            while True:
                async with relay.store.pool.acquire() as conn:
                    done = await conn.fetchval(
                        f"SELECT coalesce(max(position), 0) "
                        f"FROM {relay.store.schema}.relay_checkpoint"
                    )
                if done >= head:
                    break
                await asyncio.sleep(0.05)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*tasks)


async def test_an_event_no_store_holds_is_named_by_verify(
    platform, launcher, audit, writer, topic_prefix, capsys
):
    local = launcher.Settings.from_env()
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await acls.apply(platform.kafka_bootstrap, topic_prefix)
    await withdrawal_journey(writer, "case-forge0001")
    await publish_all(platform, writer, topic_prefix)

    # A well-formed withdrawal of every grant, published by the consent service's principal
    # (stolen credentials, or a bug): the broker lets it in, no store holds it.
    forged = RecordedEvent(
        global_position=999_999,
        stream_id="case-forge0001",
        stream_version=99,
        event_id=uuid4(),
        event_type="ConsentWithdrawn",
        schema_version=1,
        data={"participant_id": "hp-alice01"},
        recorded_at=datetime.now(UTC),
        case_id="case-forge0001",
        metadata=Metadata(
            "hp-alice01", Role.HARMED_PERSON, "agency-a", uuid4(), None, datetime.now(UTC)
        ),
        service="consent",
    )
    consent = KafkaAuth("consent", local.kafka_password("consent"))
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap, consent))
    await producer.start()
    try:
        key, value, headers = to_message(forged)
        await producer.send_and_wait(
            events_topic("consent", topic_prefix), value, key=key, headers=headers
        )
    finally:
        await producer.stop()

    schema_args = [a for s, n in audit.schemas.items() for a in ("--schema", f"{s}={n}")]
    argv = [
        "audit",
        *schema_args,
        "--audit-schema",
        audit.audit_schema,
        "--topic-prefix",
        topic_prefix,
        "verify",
    ]
    code = await asyncio.to_thread(main, argv)
    out, _ = capsys.readouterr()
    assert code == 1, out
    assert "FAILED: 1 problem(s)" in out
    (line,) = [line for line in out.splitlines() if str(forged.event_id) in line]
    assert line.strip().startswith("consent stream case-forge0001 version 99")
    assert "ConsentWithdrawn but not in" in line
