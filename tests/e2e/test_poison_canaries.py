"""Poison on a consumed topic, as the probe sent it: a canary in every free-text and id field of
messages published straight onto `consent.events.v1`. The three services that consume it
(risk, sessions, aftercare) refuse every one alike, and the canary is in no dead letter (body,
key or header) and no log line of theirs."""

from __future__ import annotations

import contextlib
import io
import json
import logging as std_logging

import structlog
from aiokafka import AIOKafkaProducer
from bus_helpers import read_topic, wait_until
from mend_aftercare.app import build as build_aftercare
from mend_events.app.logging import configure_logging
from mend_events.app.settings import dlq_topic, events_topic, kafka_options
from mend_events.messaging.cloudevents import to_message
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.fixtures import running_service
from mend_testkit.samples import delivered

CANARY = "Zoë Canary-7f3a"
CASE = "case-canary01"


def withdrawal(event_type: str = "ConsentWithdrawn", **data) -> tuple[bytes, bytes, list]:
    data = {"participant_id": "hp-canary01", "target": "all", "grants": [], **data}
    event = delivered("consent", CASE, event_type, data, actor="hp-canary01")
    return to_message(event)


def poison() -> list[tuple[bytes, bytes, list]]:
    out = [
        withdrawal(participant_id=CANARY),  # an id that is no id
        withdrawal(reason=CANARY, target=CANARY),  # a code that is no code, free text beside it
        withdrawal(reason={"kid": CANARY, "iv": CANARY, "ct": CANARY}),  # a broken seal
        withdrawal(**{CANARY: CANARY}),  # a field the contract does not have
        withdrawal("ConsentForged", reason=CANARY),  # a type no service publishes
        withdrawal(target="scope", reason=CANARY),  # the contract's own rule broken
    ]
    key, value, headers = withdrawal(reason=CANARY)
    for name in ("ce_subject", "ce_streamid", "ce_actorid", "ce_agency", "ce_id", "ce_time"):
        out.append((key, value, [(k, CANARY.encode() if k == name else v) for k, v in headers]))
    out.append((CANARY.encode(), f'{{"reason": "{CANARY}"'.encode(), headers))
    return out


async def test_every_consumer_refuses_poison_and_keeps_no_canary(platform, unique, topic_prefix):
    buf = io.StringIO()
    configure_logging("test", "INFO", stream=buf, cache_loggers=False)
    messages = poison()
    try:
        async with contextlib.AsyncExitStack() as stack:
            runtimes = []
            for build, name in (
                (build_risk, "risk"),
                (build_sessions, "sessions"),
                (build_aftercare, "aftercare"),
            ):
                _, _, runtime = await stack.enter_async_context(
                    running_service(build, name, platform, unique, topic_prefix)
                )
                runtimes.append(runtime)
            producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
            await producer.start()
            try:
                for key, value, headers in messages:
                    await producer.send_and_wait(
                        events_topic("consent", topic_prefix), value, key=key, headers=headers
                    )
            finally:
                await producer.stop()
            consent_consumers = [
                c
                for r in runtimes
                for c in r.consumers
                if events_topic("consent", topic_prefix) in c.topics
            ]
            assert len(consent_consumers) == 3

            async def all_refused():
                return all(c.dead_lettered >= len(messages) for c in consent_consumers)

            await wait_until(all_refused, timeout=60)
            assert all(c.processed == 0 for c in consent_consumers)
            assert all(c.unknown_types == {"ConsentForged": 1} for c in consent_consumers)
            dead = {
                name: await read_topic(
                    platform.kafka_bootstrap, dlq_topic(name, topic_prefix), len(messages), 10
                )
                for name in ("risk", "sessions", "aftercare")
            }
    finally:
        structlog.reset_defaults()
        for handler in list(std_logging.getLogger().handlers):
            std_logging.getLogger().removeHandler(handler)
    for name, records in dead.items():
        assert len(records) == len(messages), name
        for record in records:
            texts = [record.value or b"", record.key or b"", *(v for _, v in record.headers)]
            assert not [t for t in texts if b"Canary" in t], (name, record.headers)
    # Every consumer gave every message the same verdict.
    verdicts = {
        name: sorted(dict(r.headers)["dlq_error"] for r in records)
        for name, records in dead.items()
    }
    assert verdicts["risk"] == verdicts["sessions"] == verdicts["aftercare"]
    assert "Canary" not in buf.getvalue()
    logged = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    assert sum(1 for line in logged if line["event"] == "consumer.unknown_type") == 3
