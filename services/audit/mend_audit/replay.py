"""Replay: every service's events read from PostgreSQL with every side effect off.

Nothing here publishes, reacts, notifies or writes: it only SELECTs from the services' events
tables (the application role is enough), so it works with the services stopped. The four
stores are read in one REPEATABLE READ transaction, so a replay sees one consistent moment of
the whole platform, and the events are merged into one deterministic order:

    recorded_at, then the service (platform order: consent, risk, sessions, aftercare),
    then the global position within that service's store.

`as_of` keeps only what had been recorded by that moment, so an as-of view never changes when
later events are appended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from mend_events.app.settings import SERVICES
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import NotFound, Unavailable
from mend_events.store import row_to_event

T = TypeVar("T")

_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, "
    "case_id, data, metadata, recorded_at, hash"
)

Schemas = Mapping[str, str]  # service -> the schema holding its events table


def default_schemas() -> dict[str, str]:
    """Each service's store in the schema named after it (what `make up` creates)."""
    return {service: service for service in SERVICES}


def service_rank(service: str) -> int:
    """A service's place in the merge order: the platform's order, unknown services last."""
    try:
        return SERVICES.index(service)
    except ValueError:
        return len(SERVICES)


def order_key(event: RecordedEvent) -> tuple[datetime, int, str, int]:
    """The merge order: recorded_at, then service, then global position."""
    return (event.recorded_at, service_rank(event.service), event.service, event.global_position)


def select_schemas(
    schemas: Schemas | None, services: Iterable[str] | None = None
) -> dict[str, str]:
    """The stores to read, in platform order; NotFound naming an unknown service."""
    chosen = dict(schemas or default_schemas())
    if services is not None:
        wanted = list(services)
        unknown = [s for s in wanted if s not in chosen]
        if unknown:
            raise NotFound(
                f"unknown service {', '.join(unknown)}: expected one of {', '.join(chosen)}",
                field="service",
            )
        chosen = {s: chosen[s] for s in wanted}
    return dict(sorted(chosen.items(), key=lambda item: (service_rank(item[0]), item[0])))


async def read_events(
    pool: asyncpg.Pool,
    *,
    schemas: Schemas | None = None,
    case: str | None = None,
    cases: Sequence[str] | None = None,
    as_of: datetime | None = None,
    services: Iterable[str] | None = None,
) -> list[RecordedEvent]:
    """Every event of the chosen stores (optionally one case, or several, and only what was
    recorded by `as_of`), merged in the deterministic replay order.

    A case is read by its stream id (the case id, by convention): the primary key serves it.
    """
    chosen = select_schemas(schemas, services)
    wanted = [case] if case is not None else (list(cases) if cases is not None else None)
    events: list[RecordedEvent] = []
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for service, schema in chosen.items():
            events.extend(await _read_store(conn, service, schema, wanted, as_of))
    events.sort(key=order_key)
    return events


async def _read_store(
    conn: asyncpg.Connection,
    service: str,
    schema: str,
    streams: list[str] | None,
    as_of: datetime | None,
) -> list[RecordedEvent]:
    where, args = _conditions(streams, as_of)
    sql = f"SELECT {_COLUMNS} FROM {schema}.events{where} ORDER BY global_position"
    rows = await fetch_rows(conn, service, schema, sql, *args)
    return [row_to_event(r, service) for r in rows]


def _conditions(streams: list[str] | None, as_of: datetime | None) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    if streams is not None:
        args.append(streams)
        parts.append(f"stream_id = ANY(${len(args)}::text[])")
    if as_of is not None:
        args.append(as_of)
        parts.append(f"recorded_at <= ${len(args)}")
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


async def fetch_rows(
    conn: asyncpg.Connection, service: str, schema: str, sql: str, *args: Any
) -> list[asyncpg.Record]:
    return await guard_store(service, schema, conn.fetch(sql, *args))


async def guard_store(service: str, schema: str, work: Awaitable[T]) -> T:
    """`work` on a service's store, a missing store or a refused read named as Unavailable."""
    try:
        return await work
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        raise Unavailable(
            f"the {service} store ({schema}.events) does not exist: is the service migrated?",
            field="service",
        ) from None
    except asyncpg.InsufficientPrivilegeError:
        raise Unavailable(
            f"this database role may not read {schema}.events", field="service"
        ) from None


async def cases_with(
    pool: asyncpg.Pool,
    event_types: Iterable[str],
    *,
    schemas: Schemas | None = None,
    since: datetime | None = None,
    as_of: datetime | None = None,
    services: Iterable[str] | None = None,
) -> list[str]:
    """The cases (stream ids) holding an event of one of these types recorded in the window."""
    chosen = select_schemas(schemas, services)
    types = sorted(set(event_types))
    found: set[str] = set()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for service, schema in chosen.items():
            sql = (
                f"SELECT DISTINCT stream_id FROM {schema}.events "
                f"WHERE event_type = ANY($1::text[]) "
                f"AND ($2::timestamptz IS NULL OR recorded_at >= $2) "
                f"AND ($3::timestamptz IS NULL OR recorded_at <= $3)"
            )
            rows = await fetch_rows(conn, service, schema, sql, types, since, as_of)
            found.update(r["stream_id"] for r in rows)
    return sorted(found)


async def store_batches(
    conn: asyncpg.Connection,
    service: str,
    schema: str,
    *,
    after_position: int = 0,
    batch_size: int = 5000,
) -> AsyncIterator[list[RecordedEvent]]:
    """One store's events after a global position, in global order, a batch at a time: what
    the stored projection tails. Safe on a live table: appends commit in position order."""
    sql = (
        f"SELECT {_COLUMNS} FROM {schema}.events WHERE global_position > $1 "
        f"ORDER BY global_position LIMIT $2"
    )
    position = after_position
    while True:
        rows = await fetch_rows(conn, service, schema, sql, position, batch_size)
        if not rows:
            return
        events = [row_to_event(r, service) for r in rows]
        yield events
        position = events[-1].global_position
        if len(rows) < batch_size:
            return


async def case_events(
    conn: asyncpg.Connection, service: str, schema: str, case_ids: Sequence[str]
) -> list[RecordedEvent]:
    """One store's events of these cases (by their `case_id` column, whichever stream holds
    them), in global order: what a fold of those cases alone reads."""
    sql = (
        f"SELECT {_COLUMNS} FROM {schema}.events WHERE case_id = ANY($1::text[]) "
        f"ORDER BY global_position"
    )
    rows = await fetch_rows(conn, service, schema, sql, list(case_ids))
    return [row_to_event(r, service) for r in rows]
