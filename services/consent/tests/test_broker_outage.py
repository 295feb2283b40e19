"""R2 with the broker down (issue #4): a withdrawal is accepted while Kafka is stopped, and the
relay delivers it, after the consent it withdraws, once the broker is back; meanwhile the
service is alive and not ready, and ready again once the broker is. Real broker, real
database; the broker is always restarted, even when the test fails."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from bus_helpers import wait_until
from mend_consent.app import build
from mend_events.app.settings import events_topic, kafka_options
from mend_events.messaging.cloudevents import from_message
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service

# It kills the broker: `make fault`, never `make test` (which shares a running platform).
pytestmark = pytest.mark.fault

HP = "hp-alice01"
CASE = "case-0004aa"
ARRIVAL_TIMEOUT = 90.0


async def _records_until(bootstrap: str, topic: str, done, timeout: float) -> list[ConsumerRecord]:
    """Read `topic` from the earliest offset until `done(records)` holds, within `timeout`."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
    )
    deadline = time.monotonic() + timeout
    await asyncio.wait_for(consumer.start(), timeout)
    records: list[ConsumerRecord] = []
    try:
        while not done(records):
            if time.monotonic() > deadline:
                seen = [from_message(r.value, r.headers).event_type for r in records]
                raise AssertionError(f"not on {topic} within {timeout}s; seen {seen}")
            for part in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


def _has(event_id: UUID):
    def done(records: list[ConsumerRecord]) -> bool:
        return any(from_message(r.value, r.headers).event_id == event_id for r in records)

    return done


async def test_withdrawal_accepted_while_broker_down_reaches_kafka_after_restart(
    platform, launcher, unique, topic_prefix, token
):
    local = launcher.Settings.from_env()
    topic = events_topic("consent", topic_prefix)
    hp = token("harmed_person", HP)
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as (client, _, runtime):
        await open_case(runtime, CASE, HP)
        r = await client.post(
            f"/cases/{CASE}/consents",
            json={
                "participant_id": HP,
                "scope": "take_part",
                "informed_how": "both",
                "no_incentive_attested": True,
            },
            headers=hp,
        )
        assert r.status_code == 201, r.text
        given_id = UUID(r.json()["events"][0]["event_id"])
        # The consent is on the broker before it goes away.
        await _records_until(platform.kafka_bootstrap, topic, _has(given_id), ARRIVAL_TIMEOUT)

        try:
            await asyncio.to_thread(launcher.kill_kafka, local)

            # Accepted at once with the broker down: the store is the outbox.
            r = await asyncio.wait_for(
                client.post(
                    f"/cases/{CASE}/withdrawals",
                    json={"participant_id": HP, "scope": "take_part", "reason": "no longer"},
                    headers=hp,
                ),
                timeout=10,
            )
            assert r.status_code == 201, r.text
            [withdrawn] = r.json()["events"]
            assert withdrawn["type"] == "ConsentWithdrawn"
            withdrawn_id = UUID(withdrawn["event_id"])
            async with runtime.pool.acquire() as conn:
                stored = await conn.fetchrow(
                    f"SELECT stream_id, event_type, global_position FROM {runtime.schema}.events "
                    f"WHERE event_id = $1",
                    withdrawn_id,
                )
                checkpoint = await conn.fetchval(
                    f"SELECT position FROM {runtime.schema}.relay_checkpoint WHERE topic = $1",
                    topic,
                )
            assert stored is not None, "the withdrawal is not in the store"
            assert (stored["stream_id"], stored["event_type"]) == (CASE, "ConsentWithdrawn")
            # Nothing can have acked it: the relay has not moved past it.
            assert (checkpoint or 0) < stored["global_position"]
            # The probes: alive (a restart would not bring the broker back), not ready (the
            # broker is named), started.
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/health/startup")).status_code == 200
            ready = await client.get("/health/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["broker"] is False
            assert ready.json()["checks"]["database"] is True
        finally:
            await asyncio.to_thread(launcher.start_kafka, local)

        async def ready_again() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await wait_until(ready_again, timeout=ARRIVAL_TIMEOUT)

        # The relay reconnects by itself and publishes what it could not while Kafka was down.
        records = await _records_until(
            platform.kafka_bootstrap, topic, _has(withdrawn_id), ARRIVAL_TIMEOUT
        )

        async def relay_caught_up() -> bool:
            async with runtime.pool.acquire() as conn:
                position = await conn.fetchval(
                    f"SELECT position FROM {runtime.schema}.relay_checkpoint WHERE topic = $1",
                    topic,
                )
            return (position or 0) >= stored["global_position"]

        await wait_until(relay_caught_up, timeout=ARRIVAL_TIMEOUT)

    events = [(r, from_message(r.value, r.headers)) for r in records]
    record, event = next((r, e) for r, e in events if e.event_id == withdrawn_id)
    assert event.event_type == "ConsentWithdrawn"
    assert record.key == CASE.encode() and event.case_id == CASE  # key and subject
    assert dict(record.headers)["ce_subject"] == CASE.encode()
    # Per-case order: one partition for the case, the consent before its withdrawal (a re-publish
    # after a crash may repeat an event, never reorder: the first copy of each counts).
    firsts: dict[UUID, tuple[int, str]] = {}
    for r, e in events:
        if r.key == CASE.encode():
            assert r.partition == record.partition
            firsts.setdefault(e.event_id, (r.offset, e.event_type))
    assert [t for _, t in sorted(firsts.values())] == ["ConsentGiven", "ConsentWithdrawn"]
    assert firsts[given_id][0] < firsts[withdrawn_id][0]
