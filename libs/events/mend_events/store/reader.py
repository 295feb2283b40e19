"""Reading one service's events from PostgreSQL: streams, the global order, stream agencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from mend_events.contracts.envelope import RecordedEvent

_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, "
    "case_id, data, metadata, recorded_at, hash"
)
# The store's own reads: `RecordedEvent.stored`'s argument order, data and metadata as JSON
# text (parsed on first use: a replay that never looks at them never pays for them).
_READ_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, "
    "case_id, data::text, metadata::text, recorded_at, hash"
)


def row_to_event(row: asyncpg.Record, service: str = "") -> RecordedEvent:
    return RecordedEvent(
        global_position=row["global_position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        data=row["data"],
        raw_metadata=row["metadata"],
        recorded_at=row["recorded_at"],
        case_id=row["case_id"],
        service=service,
        hash=bytes(row["hash"]),
    )


def _rows_to_events(rows: list[asyncpg.Record], service: str) -> list[RecordedEvent]:
    """Rows selected with `_READ_COLUMNS` as events."""
    stored = RecordedEvent.stored
    return [stored(*row, service) for row in rows]


@dataclass(eq=False)
class StoreReader:
    """The reads of one schema's events. `io_pool`: connections taken for one statement only;
    `cache_size`: how many streams' agencies are kept."""

    pool: asyncpg.Pool
    schema: str
    service: str
    io_pool: asyncpg.Pool
    cache_size: int
    _agencies: dict[str, str] = field(default_factory=dict, init=False)  # stream -> agency

    async def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        as_of: datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        """The stream in version order; with `as_of`, only what was recorded by then."""
        sql = (
            f"SELECT {_READ_COLUMNS} FROM {self.schema}.events WHERE stream_id = $1 "
            f"AND stream_version > $2 AND ($3::timestamptz IS NULL OR recorded_at <= $3) "
            f"ORDER BY stream_version"
        )
        if conn is not None:
            rows = await conn.fetch(sql, stream_id, after_version, as_of)
        else:
            async with self.io_pool.acquire() as c:
                rows = await c.fetch(sql, stream_id, after_version, as_of)
        return _rows_to_events(rows, self.service)

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Events after a global position, in order: what relays and projections tail."""
        sql = (
            f"SELECT {_READ_COLUMNS} FROM {self.schema}.events WHERE global_position > $1 "
            f"ORDER BY global_position LIMIT $2"
        )
        if conn is not None:
            rows = await conn.fetch(sql, after_position, limit)
        else:
            async with self.io_pool.acquire() as c:
                rows = await c.fetch(sql, after_position, limit)
        return _rows_to_events(rows, self.service)

    async def stream_agency(self, stream_id: str) -> str | None:
        """The agency under which a stream began: the case's agency, for access decisions.
        A stream's first event never changes, so a known answer is kept (a missing stream is
        not); this process knows it without asking for the streams it began itself."""
        known = self._agencies.get(stream_id)
        if known is not None:
            return known
        async with self.io_pool.acquire() as conn:
            agency = await conn.fetchval(
                f"SELECT metadata->>'agency' FROM {self.schema}.events "
                f"WHERE stream_id = $1 AND stream_version = 1",
                stream_id,
            )
        if agency is not None:
            self.remember_agency(stream_id, agency)
        return agency

    def remember_agency(self, stream_id: str, agency: str) -> None:
        if len(self._agencies) >= self.cache_size:
            self._agencies.clear()
        self._agencies[stream_id] = agency

    async def head_position(self) -> int:
        async with self.io_pool.acquire() as conn:
            value = await conn.fetchval(
                f"SELECT coalesce(max(global_position), 0) FROM {self.schema}.events"
            )
        return int(value)

    async def key_binding(self, key_id: UUID) -> tuple[str, str, int] | None:
        """The stream, request digest and prior version a key is bound to, if it is."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT stream_id, request, after_version FROM {self.schema}.idempotency_keys "
                f"WHERE key_id = $1",
                key_id,
            )
        return (row["stream_id"], row["request"], row["after_version"]) if row else None
