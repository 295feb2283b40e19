"""Every consumer validates alike, and what it refuses leaves no personal data behind.

Messages are published straight onto a service's topic, as a forger or a buggy producer
would; two consumers read them: one whose handler decodes every event, one whose handler
never decodes. Both must apply exactly the genuine event and dead-letter the rest, and
neither dead letters nor log lines may carry any value the messages held."""

from __future__ import annotations

import io
import json
import logging as std_logging
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from bus_helpers import counting_handler, create_counter_table, observer, read_topic, wait_until
from mend_events.app.logging import configure_logging
from mend_events.app.settings import events_topic, kafka_options
from mend_events.messaging.cloudevents import to_message
from mend_testkit.samples import delivered
from sample_events import meta

CANARY = "Zoë Canary-7f3a"


def message(n, *, event_type="SampleNoted", source="sample", case="case-v1aaaa", **data):
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    event = delivered(
        source, case, event_type, {"n": n, "label": "x", **data}, at=at, metadata=meta()
    )
    key, value, headers = to_message(event)
    return event, key, value, headers


def with_header(headers, name, value):
    return [(k, value.encode() if k == name else v) for k, v in headers]


def forged_messages():
    """(what, key, value, headers) of each message that must be refused; each carries the
    canary in a different field, free text and ids alike."""
    out = []
    _, key, value, headers = message(CANARY)  # a value of the wrong type
    out.append(("invalid n", key, value, headers))
    _, key, value, headers = message(2, note=CANARY)  # a field the contract does not have
    out.append(("extra field", key, value, headers))
    _, key, value, headers = message(3, **{CANARY: 1})  # a key the sender chose
    out.append(("extra key", key, value, headers))
    _, key, value, headers = message(4, event_type="SampleForged", label=CANARY)
    out.append(("unknown type", key, value, headers))
    _, key, value, headers = message(5, source="consent", label=CANARY)
    out.append(("another service's event", key, value, headers))
    _, key, value, headers = message(6)
    for name in (
        "ce_id",
        "ce_subject",
        "ce_streamid",
        "ce_actorid",
        "ce_actorrole",
        "ce_agency",
        "ce_correlationid",
        "ce_time",
        "ce_recordedtime",
        "ce_position",
        "ce_type",
    ):
        out.append((name, CANARY.encode(), value, with_header(headers, name, CANARY)))
    out.append(("not json", key, f'{{"n": 1, "label": "{CANARY}"'.encode(), headers))
    return out


async def test_every_consumer_applies_only_valid_events_and_keeps_no_values(
    platform, admin_conn, app_pool, schema, topic_prefix
):
    topic = events_topic("sample", topic_prefix)
    await create_counter_table(admin_conn, schema)
    applied_blind: list = []

    async def blind(conn, event) -> None:  # never decodes: trusts what it is given
        applied_blind.append(event.event_id)

    buf = io.StringIO()
    configure_logging("test", "DEBUG", stream=buf, cache_loggers=False)
    forged = forged_messages()
    genuine, key, value, headers = message(1, label=CANARY)  # free text the contract allows
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    try:
        for _, k, v, h in forged:
            await producer.send_and_wait(topic, v, key=k, headers=h, partition=0)
        await producer.send_and_wait(topic, value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()
    consumers = [
        observer(platform, app_pool, schema, topic, topic_prefix, handler, name=name)
        for name, handler in (("decoding", counting_handler(schema)), ("blind", blind))
    ]
    try:
        for consumer in consumers:
            await consumer.start()

        async def all_settled():
            return all(c.processed + c.dead_lettered >= len(forged) + 1 for c in consumers)

        await wait_until(all_settled)
        dead = {
            c.name: await read_topic(
                platform.kafka_bootstrap, c.dlq_topic, expect=len(forged), timeout=10
            )
            for c in consumers
        }
    finally:
        for consumer in consumers:
            await consumer.stop()
        structlog.reset_defaults()
        for handler in list(std_logging.getLogger().handlers):
            std_logging.getLogger().removeHandler(handler)

    rows = await admin_conn.fetch(f"SELECT event_id FROM {schema}.seen")
    assert [r["event_id"] for r in rows] == [genuine.event_id]
    assert applied_blind == [genuine.event_id]  # the same verdict without decoding
    for consumer in consumers:
        assert consumer.processed == 1 and consumer.dead_lettered == len(forged)
        assert consumer.unknown_types == {"SampleForged": 1}
    logged = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    unknown = [line for line in logged if line["event"] == "consumer.unknown_type"]
    assert [(u["type"], u["topic"]) for u in unknown] == [("SampleForged", topic)] * 2

    for name, records in dead.items():
        assert len(records) == len(forged), name
        for record in records:
            assert record.value == b""  # the body stays on its own topic
            texts = [record.key or b"", *(v for _, v in record.headers)]
            assert not [t for t in texts if b"Canary" in t], (name, record.headers)
            h = dict(record.headers)
            assert h["dlq_source_topic"] == topic.encode()
            assert h["dlq_body_sha256"]
        errors = sorted(dict(r.headers)["dlq_error"].decode() for r in records)
        assert "InvalidEvent: int_parsing at n" in errors
        # A key the contract does not have is named `*`: the sender chose it, as a value.
        assert errors.count("InvalidEvent: extra_forbidden at *") == 2
        assert "UnknownEvent: unknown_event at type" in errors
        assert "MalformedMessage: malformed_message at ce_source" in errors
        assert "MalformedMessage: malformed_message at ce_subject" in errors
    assert "Canary" not in buf.getvalue()
