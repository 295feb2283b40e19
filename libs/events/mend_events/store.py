"""The event store of one service on PostgreSQL (see migrations/0001_events.sql).

Appends go through `append_batch` under a table lock, so global order equals commit order and
a tailing reader never skips an event. Concurrent appends are grouped into one locked call
(group commit): each caller still gets its own result or its own conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from mend_events.envelope import NewEvent, RecordedEvent
from mend_events.errors import Conflict, Rejected

ZERO_HASH = b"\x00" * 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    version: int  # the stream's version after the append
    positions: tuple[int, ...]  # global positions of the written events (existing ones on a retry)
    recorded_at: datetime | None
    written: bool  # False when a retry found every event already stored


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """An idempotency key (as a uuid, never its text) and a digest of the request it came with."""

    key_id: UUID
    request: str


class KeyReused(Rejected):
    """An idempotency key sent again with another request (body, route or case)."""

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was used for another request; send a new key",
            field="Idempotency-Key",
        )


@dataclass(slots=True)
class _Request:
    stream_id: str
    case_id: str
    expected_version: int
    rows: list[tuple[UUID, str, int, dict[str, Any], dict[str, Any]]]
    future: asyncio.Future[AppendResult] = field(repr=False)
    retried: bool = False
    key: KeyBinding | None = None


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
        head_cache_size: int = 100_000,
        io_pool: asyncpg.Pool | None = None,
    ) -> None:
        self.pool = pool
        # The store's own connections (appends, stream reads): each is taken for a statement
        # or a batch and never held while waiting for another, so a caller that holds a
        # connection of `pool` (a request in its transaction, a reaction in its inbox
        # transaction) always gets its read or append through, however busy `pool` is.
        self.io_pool = io_pool or pool
        self.schema = schema
        self.service = service or schema
        self.max_batch = max_batch
        self.sealer = sealer
        self._pending: list[_Request] = []
        self._writer: asyncio.Task[None] | None = None
        # Stream heads (version, hash) as this process last wrote or saw them. Events are
        # immutable, so a head can only be stale, never wrong: the database checks it.
        self._heads: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._head_cache_size = head_cache_size
        self._agencies: dict[str, str] = {}  # stream -> agency of its first event

    # --- writing --------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        case_id: str | None = None,
        key: KeyBinding | None = None,
    ) -> AppendResult:
        """Append `events` if the stream is at `expected_version`; raise Conflict otherwise.
        Retrying with the same event ids after an unknown outcome writes nothing new. With
        `key`, the key is bound to this request first; a key bound to another request is
        `KeyReused`, and nothing is written."""
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
            stream_id, case_id or stream_id, expected_version, rows, loop.create_future(), key=key
        )
        self._pending.append(request)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name=f"writer-{self.schema}")
        return await request.future

    async def _write_loop(self) -> None:
        # Requests that arrive while a batch is in flight form the next batch: one locked
        # call and one commit for all of them (group commit). The loop keeps its connection
        # while there is work: a pool round trip per batch costs as much as the batch.
        while self._pending:
            try:
                async with self.io_pool.acquire() as conn:
                    await self._drain(conn)
            except Exception as exc:  # no connection, or it broke: these callers learn it
                batch, self._pending = (
                    self._pending[: self.max_batch],
                    self._pending[self.max_batch :],
                )
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    async def _drain(self, conn: asyncpg.Connection) -> None:
        while True:
            if not self._pending:
                # Callers just answered often append again at once: one turn for them, so
                # their requests go out on this connection instead of a fresh acquire.
                await asyncio.sleep(0)
                if not self._pending:
                    return
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                retry = await self._write_batch(conn, batch)
            except Exception as exc:  # the batch failed as a whole: every caller learns it
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                if conn.is_closed():
                    return
                continue
            self._pending[:0] = retry

    async def _load_heads(self, conn: asyncpg.Connection, streams: list[str]) -> None:
        rows = await conn.fetch(
            f"SELECT s.stream_id, h.stream_version, h.hash FROM unnest($1::text[]) "
            f"AS s(stream_id) LEFT JOIN LATERAL (SELECT e.stream_version, e.hash FROM "
            f"{self.schema}.events e WHERE e.stream_id = s.stream_id ORDER BY "
            f"e.stream_version DESC LIMIT 1) h ON true",
            streams,
        )
        for row in rows:
            version = row["stream_version"] or 0
            head = bytes(row["hash"]) if row["hash"] is not None else ZERO_HASH
            self._remember_head(row["stream_id"], version, head)

    def _remember_head(self, stream_id: str, version: int, head: bytes) -> None:
        self._heads[stream_id] = (version, head)
        self._heads.move_to_end(stream_id)
        while len(self._heads) > self._head_cache_size:
            self._heads.popitem(last=False)

    async def _write_batch(self, conn: asyncpg.Connection, batch: list[_Request]) -> list[_Request]:
        """Write one batch; returns the requests to try again (their cached head was stale)."""
        deferred: list[_Request] = []
        if any(r.key is not None for r in batch):
            batch, deferred = await self._bind_keys(conn, batch)
        for r in batch:
            if r.expected_version == 0 and r.stream_id not in self._heads:
                # A new stream's head is known without asking; the database checks it anyway.
                self._remember_head(r.stream_id, 0, ZERO_HASH)
        unknown = list(
            {
                r.stream_id
                for r in batch
                if self._heads.get(r.stream_id, (-1, b""))[0] != r.expected_version
            }
        )
        if unknown:
            await self._load_heads(conn, unknown)
        recorded_at = datetime.now(UTC)
        recorded_us = (recorded_at - _EPOCH) // timedelta(microseconds=1)
        streams, expected, prev_hashes = [], [], []
        req, versions, ids, types, schema_versions, cases = [], [], [], [], [], []
        datas, metas, prevs, hashes = [], [], [], []
        tails: dict[str, tuple[int, bytes]] = {}  # heads as this batch leaves them
        sent: list[_Request] = []
        for request in batch:
            if request.stream_id in tails:
                version, head = tails[request.stream_id]
                if version != request.expected_version:
                    # Decided within the batch: an earlier request moved the stream on.
                    request.future.set_exception(self._conflict(request, version))
                    continue
            else:
                # The database checks this head; a stale one is reported back.
                version, head = self._heads[request.stream_id]
                version = request.expected_version
            sent.append(request)
            index = len(sent)
            streams.append(request.stream_id)
            expected.append(request.expected_version)
            prev_hashes.append(head)
            for event_id, event_type, schema_version, data, meta in request.rows:
                version += 1
                data_json, meta_json = canonical_json(data), canonical_json(meta)
                digest = hashlib.sha256(
                    head
                    + digest_input(
                        request.stream_id,
                        version,
                        event_id,
                        event_type,
                        schema_version,
                        request.case_id,
                        data_json,
                        meta_json,
                        recorded_us,
                    )
                ).digest()
                req.append(index)
                versions.append(version)
                ids.append(event_id)
                types.append(event_type)
                schema_versions.append(schema_version)
                cases.append(request.case_id)
                datas.append(data_json.decode())
                metas.append(meta_json.decode())
                prevs.append(head)
                hashes.append(digest)
                head = digest
            tails[request.stream_id] = (version, head)
        if not sent:
            return deferred
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.append_batch("
            f"$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            streams,
            expected,
            prev_hashes,
            req,
            versions,
            ids,
            types,
            schema_versions,
            cases,
            datas,
            metas,
            recorded_at,
            prevs,
            hashes,
        )
        written: dict[UUID, asyncpg.Record] = {}
        refused: dict[int, asyncpg.Record] = {}
        for row in rows:
            if row["status"] == "ok":
                written[row["event_id"]] = row
            else:
                refused[row["req"]] = row
        retry: list[_Request] = []
        unsettled: set[str] = set()  # streams whose head this batch did not decide
        for index, request in enumerate(sent, start=1):
            outcome = refused.get(index)
            if outcome is None:
                mine = [written[r[0]] for r in request.rows]
                if request.expected_version == 0:  # this wrote the stream's first event
                    first_metadata = request.rows[0][4]
                    self._remember_agency(request.stream_id, first_metadata["agency"])
                request.future.set_result(
                    AppendResult(
                        request.stream_id,
                        mine[-1]["stream_version"],
                        tuple(r["global_position"] for r in mine),
                        recorded_at,
                        True,
                    )
                )
                continue
            unsettled.add(request.stream_id)
            if outcome["status"] == "duplicate":
                self._heads.pop(request.stream_id, None)
                request.future.set_result(await self._already_stored(request))
                continue
            current = outcome["stream_version"]
            if current is not None:  # the stored head, as the database reports it
                self._remember_head(request.stream_id, current, bytes(outcome["head_hash"]))
            # Our cached head was stale, or an earlier request of this stream in the batch
            # was refused: worth one more try when the caller's expectation may still hold.
            if not request.retried and (current is None or current == request.expected_version):
                request.retried = True
                retry.append(request)
            else:
                request.future.set_exception(self._conflict(request, current))
        for stream_id, (version, head) in tails.items():
            if stream_id not in unsettled:
                self._remember_head(stream_id, version, head)
        return retry + deferred

    async def _bind_keys(
        self, conn: asyncpg.Connection, batch: list[_Request]
    ) -> tuple[list[_Request], list[_Request]]:
        """Bind the batch's idempotency keys to their requests in one statement; refuse each
        request whose key another request holds. Returns the requests to write now and those
        to write in the next batch (a key a request before them in this batch carries, or one
        that another writer bound while this statement ran)."""
        now, later, keyed = [], [], {}
        for request in batch:
            if request.key is None:
                now.append(request)
            elif request.key.key_id in keyed:
                later.append(request)
            else:
                keyed[request.key.key_id] = request
                now.append(request)
        rows = await conn.fetch(
            f"WITH asked AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], "
            f"$4::integer[]) AS a(k, s, r, v)), bound AS (INSERT INTO {self.schema}."
            f"idempotency_keys (key_id, stream_id, request, after_version) SELECT k, s, r, v "
            f"FROM asked ON CONFLICT (key_id) DO NOTHING RETURNING key_id) "
            f"SELECT a.k, b.key_id IS NOT NULL AS mine, i.stream_id, i.request FROM asked a "
            f"LEFT JOIN bound b ON b.key_id = a.k "
            f"LEFT JOIN {self.schema}.idempotency_keys i ON i.key_id = a.k",
            list(keyed),
            [r.stream_id for r in keyed.values()],
            [r.key.request for r in keyed.values() if r.key is not None],
            [r.expected_version for r in keyed.values()],
        )
        refused: set[UUID] = set()
        for row in rows:
            request = keyed[row["k"]]
            if row["mine"]:
                continue
            if row["stream_id"] is None:  # bound by another writer after this snapshot
                refused.add(row["k"])
                later.append(request)
            elif (row["stream_id"], row["request"]) != (request.stream_id, request.key.request):
                refused.add(row["k"])
                request.future.set_exception(KeyReused())
        return [r for r in now if r.key is None or r.key.key_id not in refused], later

    async def key_binding(self, key_id: UUID) -> tuple[str, str, int] | None:
        """The stream, request digest and prior version a key is bound to, if it is."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT stream_id, request, after_version FROM {self.schema}.idempotency_keys "
                f"WHERE key_id = $1",
                key_id,
            )
        return (row["stream_id"], row["request"], row["after_version"]) if row else None

    @staticmethod
    def _conflict(request: _Request, current: int | None) -> Conflict:
        return Conflict(
            f"stream {request.stream_id} is at version {current}, "
            f"not the expected {request.expected_version}",
            field="expected_version",
        )

    async def _already_stored(self, request: _Request) -> AppendResult:
        """A retried append: succeed only if every event is stored, in this stream, as sent."""
        ids = [r[0] for r in request.rows]
        async with self.io_pool.acquire() as conn:
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
            self._remember_agency(stream_id, agency)
        return agency

    def _remember_agency(self, stream_id: str, agency: str) -> None:
        if len(self._agencies) >= self._head_cache_size:
            self._agencies.clear()
        self._agencies[stream_id] = agency

    async def head_position(self) -> int:
        async with self.io_pool.acquire() as conn:
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


def canonical_json(value: Any) -> bytes:
    """The bytes a JSON value is hashed as: sorted keys, no spaces. Stored as jsonb, read back
    and serialised again, it gives the same bytes (events carry no floats)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def digest_input(
    stream_id: str,
    version: int,
    event_id: UUID,
    event_type: str,
    schema_version: int,
    case_id: str,
    data_json: bytes,
    meta_json: bytes,
    recorded_us: int,
) -> bytes:
    """What a row's hash covers, after its predecessor's hash; a changed byte breaks it.
    Data and metadata enter as their canonical JSON (`canonical_json`)."""
    head = f"{stream_id}|{version}|{event_id}|{event_type}|{schema_version}|{case_id}|".encode()
    return b"".join((head, data_json, b"|", meta_json, b"|", str(recorded_us).encode()))


async def verify_chain(pool: asyncpg.Pool, schema: str) -> list[ChainBreak]:
    breaks: list[ChainBreak] = []
    last_stream, last_version, last_hash = None, 0, ZERO_HASH
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        cursor = conn.cursor(
            f"SELECT global_position, stream_id, stream_version, event_id, event_type, "
            f"schema_version, case_id, data, metadata, "
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
            recorded_us = (row["recorded_at"] - _EPOCH) // timedelta(microseconds=1)
            computed = hashlib.sha256(
                bytes(row["prev_hash"])
                + digest_input(
                    row["stream_id"],
                    row["stream_version"],
                    row["event_id"],
                    row["event_type"],
                    row["schema_version"],
                    row["case_id"],
                    canonical_json(row["data"]),
                    canonical_json(row["metadata"]),
                    recorded_us,
                )
            ).digest()
            if computed != bytes(row["hash"]):
                breaks.append(ChainBreak(*where, "content does not match its hash"))
            last_version, last_hash = row["stream_version"], bytes(row["hash"])
    return breaks
