"""Verification of Kafka against the stores (see `verify.py` for what is checked): every
stored event up to the relay's checkpoint is on its topic, every copy there equals the stored
event, and every event there is one the store holds."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from mend_events.app.settings import kafka_options
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.cloudevents import MalformedMessage, ce_type, from_message
from mend_events.store import canonical_json, row_to_event

from mend_audit.verify_report import Problem, ServiceReport


def _digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def _fingerprint(e: RecordedEvent) -> dict[str, Any]:
    """What must be identical between the store and Kafka, by name (to say what differs)."""
    m = e.metadata
    return {
        "type": e.event_type,
        "stream_id": e.stream_id,
        "stream_version": e.stream_version,
        "case_id": e.case_id,
        "schema_version": e.schema_version,
        "global_position": e.global_position,
        "data": _digest(e.data),
        "actor": (m.actor_id, str(m.role), m.agency),
        "correlation_id": str(m.correlation_id),
        "causation_id": str(m.causation_id) if m.causation_id else None,
        "occurred_at": m.occurred_at,
        "recorded_at": e.recorded_at,
    }


@dataclass(slots=True)
class _Message:
    where: str
    fingerprint: dict[str, Any]


def _consumer(bootstrap: str, within: float, *topics: str) -> AIOKafkaConsumer:
    # No group: nothing is committed, and a topic named here is assigned whole.
    return AIOKafkaConsumer(
        *topics,
        **kafka_options(bootstrap),  # the process's principal: `audit` reads every topic
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
        request_timeout_ms=int(within * 1000),
        fetch_max_wait_ms=100,
    )


async def _topic_exists(bootstrap: str, topic: str, within: float) -> bool:
    """Asked before subscribing: a broker that auto-creates topics would otherwise create it."""
    probe = _consumer(bootstrap, within)
    try:
        await asyncio.wait_for(probe.start(), within)
        return topic in await probe.topics()
    finally:
        await _quietly_stop(probe)


async def _read_topic(
    bootstrap: str, topic: str, service: str, within: float
) -> tuple[dict[str, list[_Message]], list[Problem], int] | Problem:
    """Every message of the topic up to its end offsets now, by event id."""
    started = time.monotonic()
    try:
        if not await _topic_exists(bootstrap, topic, within):
            return Problem(service, "topic_missing", f"topic {topic} does not exist")
    except (KafkaError, OSError, TimeoutError) as exc:
        return Problem(service, "kafka_unreachable", f"Kafka at {bootstrap}: {type(exc).__name__}")
    consumer = _consumer(bootstrap, within, topic)
    try:
        await asyncio.wait_for(consumer.start(), within)
        tps = sorted(consumer.assignment())
        while not tps and time.monotonic() < started + within:
            await asyncio.sleep(0.1)  # the assignment follows the topic's metadata
            tps = sorted(consumer.assignment())
        if not tps:
            return Problem(service, "kafka_unreachable", f"no partition of {topic} is known")
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        by_id: dict[str, list[_Message]] = {}
        problems: list[Problem] = []
        count = 0
        deadline = started + within
        pending = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        while pending:
            if time.monotonic() > deadline:
                return Problem(service, "kafka_timeout", f"reading {topic} took over {within}s")
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        continue
                    count += 1
                    where = f"{topic} partition {tp.partition} offset {r.offset}"
                    try:
                        event = from_message(r.value, r.headers)
                    except MalformedMessage as exc:
                        problems.append(
                            Problem(service, "kafka_malformed", exc.reason, where=where)
                        )
                        continue
                    if event.service != service:
                        problems.append(
                            Problem(
                                service,
                                "kafka_unknown",
                                f"a {event.service} event on the {service} topic",
                                event.stream_id,
                                event.stream_version,
                                str(event.event_id),
                                where,
                            )
                        )
                        continue
                    by_id.setdefault(str(event.event_id), []).append(
                        _Message(where, _fingerprint(event))
                    )
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return by_id, problems, count
    except (KafkaError, OSError, TimeoutError) as exc:
        return Problem(service, "kafka_unreachable", f"reading {topic}: {type(exc).__name__}")
    finally:
        await _quietly_stop(consumer)


async def _quietly_stop(consumer: AIOKafkaConsumer) -> None:
    try:
        await consumer.stop()
    except Exception:  # a consumer that never started may fail to stop
        pass


_STORED = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, case_id, "
    "data, metadata, recorded_at, hash"
)


async def check_kafka(
    pool: asyncpg.Pool, report: ServiceReport, bootstrap: str, within: float
) -> None:
    service, schema, topic = report.service, report.schema, report.topic
    assert topic is not None
    head, published = report.head, report.checkpoint or 0
    # Kafka is read after the cut: it holds at least every event up to the checkpoint.
    read = await _read_topic(bootstrap, topic, service, within)
    if isinstance(read, Problem):
        if read.kind == "topic_missing" and published == 0:
            report.messages = 0  # the relay has published nothing yet (nor created the topic)
            report.unpublished = report.events
            return
        report.problems.append(read)
        return
    by_id, problems, report.messages = read
    report.problems.extend(problems)
    if published > head:
        report.problems.append(
            Problem(
                service,
                "checkpoint_ahead",
                f"the relay's checkpoint for {topic} ({published}) is past the last stored "
                f"event (global position {head})",
            )
        )
    seen: set[str] = set()
    # One snapshot, taken after Kafka was read: the events up to the head, and any event the
    # relay published after the cut (only committed events are published, so it is here).
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(
            f"SELECT {_STORED} FROM {schema}.events WHERE global_position <= $1 "
            f"ORDER BY global_position",
            head,
            prefetch=5000,
        )
        async for row in cursor:
            stored = row_to_event(row, service)
            key = str(stored.event_id)
            seen.add(key)
            copies = by_id.get(key)
            if copies:
                _compare(report, stored, copies)
            elif stored.global_position > published:
                report.unpublished += 1
            else:
                report.problems.append(
                    Problem(
                        service,
                        "kafka_missing",
                        f"missing from {topic} (global position {stored.global_position}, "
                        f"which the relay's checkpoint {published} says was published)",
                        stored.stream_id,
                        stored.stream_version,
                        key,
                    )
                )
        later = sorted(set(by_id) - seen)
        rows = []
        if later:
            rows = await conn.fetch(
                f"SELECT {_STORED} FROM {schema}.events WHERE event_id = ANY($1::uuid[]) "
                f"ORDER BY global_position",
                later,
            )
    for row in rows:
        stored = row_to_event(row, service)
        key = str(stored.event_id)
        seen.add(key)
        report.published_after_cut += 1
        _compare(report, stored, by_id[key])
    for key in sorted(set(by_id) - seen):
        for copy in by_id[key]:
            fp = copy.fingerprint
            report.problems.append(
                Problem(
                    service,
                    "kafka_unknown",
                    f"on Kafka as {ce_type(service, fp['type'])} but not in {schema}.events",
                    fp["stream_id"],
                    fp["stream_version"],
                    key,
                    copy.where,
                )
            )


def _compare(report: ServiceReport, stored: RecordedEvent, copies: list[_Message]) -> None:
    """Each copy on Kafka of a stored event must carry exactly what the store holds."""
    expected = _fingerprint(stored)
    for copy in copies:
        differ = sorted(k for k, v in expected.items() if copy.fingerprint.get(k) != v)
        if differ:
            report.problems.append(
                Problem(
                    report.service,
                    "kafka_mismatch",
                    f"{', '.join(differ)} differ(s) between the store and Kafka",
                    stored.stream_id,
                    stored.stream_version,
                    str(stored.event_id),
                    where=copy.where,
                )
            )
