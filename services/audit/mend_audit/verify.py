"""Verification: every stream's hash chain in every store, and Kafka against the stores.

1. Each store's hash chains are recomputed from what is stored (`mend_events.store.verify_chain`):
   a changed byte names its stream and version.
2. Kafka against the stores, on a consistent cut taken when verification begins: for every
   chosen service, in one REPEATABLE READ snapshot, the store's head (its last global position)
   and the relay's checkpoint (the last position the broker has acknowledged). Then:
   - every stored event up to the checkpoint must be on `<service>.events.v1`: one missing is
     a failure (`kafka_missing`), named;
   - a stored event past the checkpoint (up to the head) that is not on the topic yet is *not
     yet published*: counted (`ServiceReport.unpublished`), not a failure, since the relay
     publishes what is appended after its checkpoint a moment later;
   - every copy on the topic, of any event, must equal the stored event: same id, type,
     stream, version, case, schema version, envelope (actor, role, agency, correlation,
     causation, times) and the same data bytes (compared as the canonical JSON the hash chain
     covers); a difference is a failure (`kafka_mismatch`), named with partition and offset;
   - every event on the topic must be one the store holds (`kafka_unknown` otherwise), also
     one appended and published after the cut (looked up in the store after Kafka is read).

The result holds only when no problem is found; each problem names the service, stream,
version, event id and, for Kafka, the partition and offset.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from mend_events.cloudevents import MalformedMessage, ce_type, from_message
from mend_events.envelope import RecordedEvent
from mend_events.settings import events_topic, kafka_options
from mend_events.store import canonical_json, row_to_event, verify_chain

from mend_audit.replay import Schemas, fetch_rows, select_schemas
from mend_audit.verify_report import Problem, Report, ServiceReport


async def verify(
    pool: asyncpg.Pool,
    *,
    schemas: Schemas | None = None,
    services: Iterable[str] | None = None,
    bootstrap: str | None = None,
    topic_prefix: str = "",
    kafka: bool = True,
    within: float = 30.0,
) -> Report:
    """Verify the chosen stores (and, with `kafka`, their topics on `bootstrap`)."""
    chosen = select_schemas(schemas, services)
    reports = [
        ServiceReport(service, schema, events_topic(service, topic_prefix) if kafka else None)
        for service, schema in chosen.items()
    ]
    await _take_cut(pool, reports)
    for report in reports:
        await _check_chains(pool, report)
        if kafka and bootstrap is not None and report.topic is not None:
            await _check_kafka(pool, report, bootstrap, within)
    return Report(reports)


async def _take_cut(pool: asyncpg.Pool, reports: list[ServiceReport]) -> None:
    """Every chosen store's counts and head, and its relay's checkpoint, as of one moment (one
    read-only REPEATABLE READ snapshot): what verification holds each store and topic to. The
    relay moves its checkpoint only after the events are committed and acknowledged, so in one
    snapshot the checkpoint is never past the head."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for report in reports:
            schema = report.schema
            (counts,) = await fetch_rows(
                conn,
                report.service,
                schema,
                f"SELECT count(*) AS events, count(DISTINCT stream_id) AS streams, "
                f"coalesce(max(global_position), 0) AS head FROM {schema}.events",
            )
            report.events, report.streams = counts["events"], counts["streams"]
            report.head = int(counts["head"])
            if report.topic is not None:
                report.checkpoint = await _checkpoint(conn, schema, report.topic)


async def _checkpoint(conn: asyncpg.Connection, schema: str, topic: str) -> int | None:
    try:
        async with conn.transaction():  # a savepoint: a store without the table is no error
            value = await conn.fetchval(
                f"SELECT position FROM {schema}.relay_checkpoint WHERE topic = $1", topic
            )
    except asyncpg.PostgresError:
        return None
    return None if value is None else int(value)


async def _check_chains(pool: asyncpg.Pool, report: ServiceReport) -> None:
    for b in await verify_chain(pool, report.schema):
        report.problems.append(
            Problem(
                report.service,
                "chain",
                f"{b.problem} (global position {b.global_position})",
                b.stream_id,
                b.stream_version,
            )
        )


# --- Kafka ------------------------------------------------------------------------------------


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


async def _check_kafka(
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
