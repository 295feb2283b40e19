"""The event store of one service on PostgreSQL (see migrations/0001_events.sql).

Appends go through `append_batch` under a table lock, so global order equals commit order and
a tailing reader never skips an event. Concurrent appends are grouped into one locked call
(group commit): each caller still gets its own result or its own conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from mend_events.envelope import NewEvent, RecordedEvent
from mend_events.errors import Conflict

ZERO_HASH = b"\x00" * 32

_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, "
    "case_id, data, metadata, recorded_at, hash"
)


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    version: int  # the stream's version after the append
    positions: tuple[int, ...]  # global positions of the written events (existing ones on a retry)
    recorded_at: datetime | None
    written: bool  # False when a retry found every event already stored


@dataclass(slots=True)
class _Request:
    stream_id: str
    case_id: str
    expected_version: int
    rows: list[tuple[UUID, str, int, dict[str, Any], dict[str, Any]]]
    future: asyncio.Future[AppendResult] = field(repr=False)


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


class EventStore:
    """Append and read one service's events. One instance per process and schema."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        *,
        service: str = "",
        max_batch: int = 512,
        sealer: Any = None,
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.service = service or schema
        self.max_batch = max_batch
        self.sealer = sealer
        self._pending: list[_Request] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    # --- writing --------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        case_id: str | None = None,
    ) -> AppendResult:
        """Append `events` if the stream is at `expected_version`; raise Conflict otherwise.
        Retrying with the same event ids after an unknown outcome writes nothing new."""
        if not events:
            return AppendResult(stream_id, expected_version, (), None, False)
        rows = []
        for new in events:
            data = new.event.to_data()
            if self.sealer is not None and new.event.personal_fields:
                data = await self.sealer.seal_event_data(
                    new.event,
                    data,
                    agency=new.metadata.agency,
                    stream_id=stream_id,
                    event_id=new.event_id,
                    actor_id=new.metadata.actor_id,
                )
            rows.append(
                (
                    new.event_id,
                    new.event.event_type,
                    new.event.schema_version,
                    data,
                    new.metadata.to_json(),
                )
            )
        loop = asyncio.get_running_loop()
        request = _Request(
            stream_id, case_id or stream_id, expected_version, rows, loop.create_future()
        )
        self._pending.append(request)
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(
                self._write_loop(), name=f"store-writer-{self.schema}"
            )
        return await request.future

    async def _write_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                await self._write_batch(batch)
            except Exception as exc:  # the batch failed as a whole: every caller learns it
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    async def _write_batch(self, batch: list[_Request]) -> None:
        streams, expected, cases, first, count = [], [], [], [], []
        ids, types, versions, datas, metas = [], [], [], [], []
        for request in batch:
            streams.append(request.stream_id)
            expected.append(request.expected_version)
            cases.append(request.case_id)
            first.append(len(ids) + 1)
            count.append(len(request.rows))
            for event_id, event_type, schema_version, data, meta in request.rows:
                ids.append(event_id)
                types.append(event_type)
                versions.append(schema_version)
                datas.append(data)
                metas.append(meta)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT * FROM {self.schema}.append_batch($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                streams,
                expected,
                cases,
                first,
                count,
                ids,
                types,
                versions,
                datas,
                metas,
            )
        by_request: dict[int, list[asyncpg.Record]] = {}
        for row in rows:
            by_request.setdefault(row["req"], []).append(row)
        for index, request in enumerate(batch, start=1):
            results = by_request.get(index, [])
            status = results[0]["status"] if results else "conflict"
            if status == "ok":
                request.future.set_result(
                    AppendResult(
                        request.stream_id,
                        results[-1]["stream_version"],
                        tuple(r["global_position"] for r in results),
                        results[0]["recorded_at"],
                        True,
                    )
                )
            elif status == "duplicate":
                request.future.set_result(await self._already_stored(request))
            else:
                current = results[0]["stream_version"] if results else None
                request.future.set_exception(
                    Conflict(
                        f"stream {request.stream_id} is at version {current}, "
                        f"not the expected {request.expected_version}",
                        field="expected_version",
                    )
                )

    async def _already_stored(self, request: _Request) -> AppendResult:
        """A retried append: succeed only if every event is stored, in this stream, as sent."""
        ids = [r[0] for r in request.rows]
        async with self.pool.acquire() as conn:
            stored = await conn.fetch(
                f"SELECT event_id, stream_id, stream_version, global_position, recorded_at, "
                f"event_type FROM {self.schema}.events WHERE event_id = ANY($1::uuid[]) "
                f"ORDER BY global_position",
                ids,
            )
        if len(stored) != len(ids) or any(r["stream_id"] != request.stream_id for r in stored):
            raise Conflict("event ids already used by other events", field="event_id")
        return AppendResult(
            request.stream_id,
            stored[-1]["stream_version"],
            tuple(r["global_position"] for r in stored),
            stored[-1]["recorded_at"],
            False,
        )

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    # --- reading --------------------------------------------------------------------------

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
            f"SELECT {_COLUMNS} FROM {self.schema}.events WHERE stream_id = $1 "
            f"AND stream_version > $2 AND ($3::timestamptz IS NULL OR recorded_at <= $3) "
            f"ORDER BY stream_version"
        )
        if conn is not None:
            rows = await conn.fetch(sql, stream_id, after_version, as_of)
        else:
            async with self.pool.acquire() as c:
                rows = await c.fetch(sql, stream_id, after_version, as_of)
        return [row_to_event(r, self.service) for r in rows]

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Events after a global position, in order: what relays and projections tail."""
        sql = (
            f"SELECT {_COLUMNS} FROM {self.schema}.events WHERE global_position > $1 "
            f"ORDER BY global_position LIMIT $2"
        )
        if conn is not None:
            rows = await conn.fetch(sql, after_position, limit)
        else:
            async with self.pool.acquire() as c:
                rows = await c.fetch(sql, after_position, limit)
        return [row_to_event(r, self.service) for r in rows]

    async def head_position(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                f"SELECT coalesce(max(global_position), 0) FROM {self.schema}.events"
            )
        return int(value)

    # --- verification ---------------------------------------------------------------------

    async def verify(self) -> list[ChainBreak]:
        """Recompute every stream's hash chain from the stored columns; list each break."""
        return await verify_chain(self.pool, self.schema)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    schema: str
    stream_id: str
    stream_version: int
    global_position: int
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.schema}.events stream {self.stream_id} version {self.stream_version} "
            f"(global position {self.global_position}): {self.problem}"
        )


def digest_input(
    stream_id: str,
    version: int,
    event_id: UUID,
    event_type: str,
    schema_version: int,
    case_id: str,
    data_text: str,
    meta_text: str,
    recorded_at: datetime,
) -> bytes:
    """The bytes a row's hash covers; mirrors `event_digest_input` in the migration."""
    recorded = recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f"{stream_id}|{version}|{event_id}|{event_type}|{schema_version}|{case_id}|"
        f"{data_text}|{meta_text}|{recorded}"
    ).encode()


async def verify_chain(pool: asyncpg.Pool, schema: str) -> list[ChainBreak]:
    breaks: list[ChainBreak] = []
    last_stream, last_version, last_hash = None, 0, ZERO_HASH
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        cursor = conn.cursor(
            f"SELECT global_position, stream_id, stream_version, event_id, event_type, "
            f"schema_version, case_id, data::text AS data_text, metadata::text AS meta_text, "
            f"recorded_at, prev_hash, hash FROM {schema}.events "
            f"ORDER BY stream_id, stream_version",
            prefetch=5000,
        )
        async for row in cursor:
            if row["stream_id"] != last_stream:
                last_stream, last_version, last_hash = row["stream_id"], 0, ZERO_HASH
            where = (schema, row["stream_id"], row["stream_version"], row["global_position"])
            if row["stream_version"] != last_version + 1:
                breaks.append(ChainBreak(*where, f"version gap after {last_version}"))
            if bytes(row["prev_hash"]) != last_hash:
                breaks.append(ChainBreak(*where, "prev_hash does not match the previous event"))
            computed = hashlib.sha256(
                bytes(row["prev_hash"])
                + digest_input(
                    row["stream_id"],
                    row["stream_version"],
                    row["event_id"],
                    row["event_type"],
                    row["schema_version"],
                    row["case_id"],
                    row["data_text"],
                    row["meta_text"],
                    row["recorded_at"],
                )
            ).digest()
            if computed != bytes(row["hash"]):
                breaks.append(ChainBreak(*where, "content does not match its hash"))
            last_version, last_hash = row["stream_version"], bytes(row["hash"])
    return breaks
