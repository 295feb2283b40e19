"""Verification: every stream's hash chain in every store, and Kafka against the stores.

1. Each store's hash chains are recomputed from what is stored (`mend_events.store.verify_chain`):
   a changed byte names its stream and version.
2. Kafka against the stores (`verify_kafka.py`), on a consistent cut taken when verification
   begins: for every chosen service, in one REPEATABLE READ snapshot, the store's head (its
   last global position) and the relay's checkpoint (the last position the broker has
   acknowledged). Then:
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

from collections.abc import Iterable

import asyncpg
from mend_events.app.settings import DISCLOSURE, events_topic
from mend_events.store import verify_chain
from mend_events.store.disclosure_ledger import Ledger

from mend_audit.replay import Schemas, fetch_rows, select_schemas
from mend_audit.verify_kafka import check_kafka
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
    ledger_schema: str | None = DISCLOSURE,
    dsn: str | None = None,
    jobs: int = 1,
) -> Report:
    """Verify the chosen stores (and, with `kafka`, their topics on `bootstrap`), and the
    disclosure ledger's chain in `ledger_schema` where the gateway keeps one (issue 18). With
    the database's `dsn` and `jobs` > 1, a large store's chains are hashed by `jobs` worker
    processes (mend_events.store.verify_chain)."""
    # `disclosure` names the disclosure ledger, which is no event store.
    wanted = None if services is None else [s for s in services if s != DISCLOSURE]
    chosen = {} if wanted == [] else select_schemas(schemas, wanted)
    check_ledger = services is None or DISCLOSURE in services
    reports = [
        ServiceReport(service, schema, events_topic(service, topic_prefix) if kafka else None)
        for service, schema in chosen.items()
    ]
    await _take_cut(pool, reports)
    for report in reports:
        await _check_chains(pool, report, dsn, jobs)
        if kafka and bootstrap is not None and report.topic is not None:
            await check_kafka(pool, report, bootstrap, within)
    if ledger_schema is not None and check_ledger:
        ledger = await _check_ledger(pool, ledger_schema)
        if ledger is not None:
            reports.append(ledger)
    return Report(reports)


async def _check_ledger(pool: asyncpg.Pool, schema: str) -> ServiceReport | None:
    """The disclosure ledger's hash chain (`mend_events.store.disclosure_ledger`); None where
    the schema holds no ledger (no gateway deployed)."""
    async with pool.acquire() as conn:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.disclosure_ledger")
        if exists is None:
            return None
        rows = await conn.fetchval(f"SELECT count(*) FROM {schema}.disclosure_ledger")
    report = ServiceReport(DISCLOSURE, schema, None, events=rows)
    for detail in await Ledger(schema).verify(pool):
        report.problems.append(Problem(DISCLOSURE, "chain", detail))
    return report


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


async def _check_chains(
    pool: asyncpg.Pool, report: ServiceReport, dsn: str | None, jobs: int
) -> None:
    for b in await verify_chain(pool, report.schema, dsn=dsn, workers=jobs):
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
