"""The group-commit writer of one schema's events on PostgreSQL (sql/append_batch.sql).

Appends go through `append_batch` under a table lock, so global order equals commit order and
a tailing reader never skips an event. Concurrent appends are grouped into one locked call
(group commit): each caller still gets its own result or its own conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from mend_events import metrics
from mend_events.store.chain import ZERO_HASH, canonical_json, digest_input, micros
from mend_events.store.keys import bind_keys
from mend_events.store.results import AppendRequest, AppendResult, conflict, ids_used_elsewhere


class _Encoded:
    """A batch as `append_batch`'s parallel arrays, and the stream heads it leaves."""

    __slots__ = ("args", "sent", "tails")

    def __init__(self) -> None:
        # streams, expected, prev_hashes; req, versions, ids, types, schema_versions, cases,
        # datas, metas; prevs, hashes (recorded_at is inserted before prevs when sent).
        self.args: tuple[list[Any], ...] = tuple([] for _ in range(13))
        self.sent: list[AppendRequest] = []
        self.tails: dict[str, tuple[int, bytes]] = {}


# Batches in flight at once, each on its own connection. The table lock still makes them
# commit one after another; with two, a second batch already sent waits on the lock, so its
# callers' work and the first batch's statement and commit overlap instead of taking turns.
# One by default: on the shared 2-core VM (load 5) two lanes gave 1,729-1,878 events/s at 16
# writers against one lane's 2,547-3,538 (same run, alternating): half-size batches pay twice
# the WAL flushes, and there was no idle core for the overlap. To measure again on a quiet
# machine before raising it.
LANES = 1


class GroupCommitWriter:
    """Writer tasks ("lanes", at most LANES) per store: requests that arrive while batches are
    in flight form the next batch. A stream is in at most one batch in flight, so each batch
    chains from heads already settled. `on_new_stream(stream_id, agency)` learns of each stream
    this process begins."""

    def __init__(
        self,
        io_pool: asyncpg.Pool,
        schema: str,
        *,
        max_batch: int,
        head_cache_size: int,
        on_new_stream: Callable[[str, str], None],
        service: str = "",
    ) -> None:
        self.io_pool = io_pool
        self._batch_events = metrics.APPEND_BATCH_EVENTS.labels(service)
        self._batch_seconds = metrics.APPEND_SECONDS.labels(service)
        self.schema = schema
        self.max_batch = max_batch
        self._on_new_stream = on_new_stream
        self._pending: list[AppendRequest] = []
        self._lanes: set[asyncio.Task[None]] = set()  # for close()
        self._running = 0  # lanes running: counted by the lanes themselves, never late
        self._busy = 0  # lanes with a batch in flight
        self._in_flight: set[str] = set()  # streams of the batches in flight
        # Stream heads (version, hash) as this process last wrote or saw them. Events are
        # immutable, so a head can only be stale, never wrong: the database checks it.
        self._heads: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._head_cache_size = head_cache_size

    async def submit(self, request: AppendRequest) -> AppendResult:
        self._pending.append(request)
        self._start_lane()
        return await request.future

    def _start_lane(self) -> None:
        """A new lane when every running lane has a batch in flight and another may run."""
        if self._busy == self._running < LANES:
            self._running += 1
            task = asyncio.create_task(self._write_loop(), name=f"writer-{self.schema}")
            self._lanes.add(task)
            task.add_done_callback(self._lanes.discard)

    async def close(self) -> None:
        while self._lanes:
            with contextlib.suppress(asyncio.CancelledError):
                await next(iter(self._lanes))

    def _take_batch(self, limit: int) -> list[AppendRequest]:
        """Up to `limit` requests in arrival order, leaving those of streams in flight (and
        every later request of such a stream, to keep each stream's order)."""
        batch: list[AppendRequest] = []
        keep: list[AppendRequest] = []
        held: set[str] = set()
        for r in self._pending:
            free = r.stream_id not in self._in_flight and r.stream_id not in held
            if free and len(batch) < limit:
                batch.append(r)
            else:
                keep.append(r)
                held.add(r.stream_id)
        self._pending = keep
        return batch

    async def _write_loop(self) -> None:
        # One locked call and one commit per batch. The loop keeps its connection while there
        # is work: a pool round trip per batch costs as much as the batch.
        try:
            # Checked again after each release (which awaits): a request that came meanwhile
            # saw this lane running and started none.
            while any(r.stream_id not in self._in_flight for r in self._pending):
                try:
                    async with self.io_pool.acquire() as conn:
                        await self._drain(conn)
                except Exception as exc:  # no connection, or it broke: these callers learn it
                    _fail(self._take_batch(self.max_batch), exc)
            # What is left (if anything) belongs to streams another lane has in flight: that
            # lane takes it when its batch is done.
        finally:
            self._running -= 1  # no await after this: a submit from here on starts a lane

    async def _drain(self, conn: asyncpg.Connection) -> None:
        """Write batches while there are any this lane may take."""
        while True:
            if not self._pending:
                # Callers just answered often append again at once: one turn for them, so
                # their requests go out on this connection instead of a fresh acquire.
                await asyncio.sleep(0)
                if not self._pending:
                    return
            # With no other batch in flight, take half and let another lane send the rest:
            # it waits on the lock while this one commits, and this half's callers append
            # again meanwhile.
            alone = self._busy == 0 and LANES > 1
            limit = min(self.max_batch, (len(self._pending) + 1) // 2) if alone else self.max_batch
            batch = self._take_batch(limit)
            if not batch:  # only streams another lane has in flight: that lane takes them
                return
            streams = {r.stream_id for r in batch}
            self._in_flight |= streams
            self._busy += 1
            if self._pending:
                self._start_lane()
            try:
                retry = await self._write_batch(conn, batch)
            except Exception as exc:  # the batch failed as a whole: every caller learns it
                _fail(batch, exc)
                if conn.is_closed():
                    return
                continue
            finally:
                self._busy -= 1
                self._in_flight -= streams
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

    async def _write_batch(
        self, conn: asyncpg.Connection, batch: list[AppendRequest]
    ) -> list[AppendRequest]:
        """Write one batch; returns the requests to try again (their cached head was stale)."""
        deferred: list[AppendRequest] = []
        if any(r.key is not None for r in batch):
            batch, deferred = await bind_keys(conn, self.schema, batch)
        await self._know_heads(conn, batch)
        recorded_at = datetime.now(UTC)
        encoded = self._encode(batch, micros(recorded_at))
        if not encoded.sent:
            return deferred
        a = encoded.args
        start = time.perf_counter()
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.append_batch("
            f"$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            *a[:11],
            recorded_at,
            *a[11:],
        )
        self._batch_seconds.observe(time.perf_counter() - start)
        self._batch_events.observe(len(batch))
        return await self._settle(encoded, rows, recorded_at) + deferred

    async def _know_heads(self, conn: asyncpg.Connection, batch: list[AppendRequest]) -> None:
        """Have a head for every stream of the batch: the cached one, or the stored one when
        the cache does not have the version its caller expects."""
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

    def _encode(self, batch: list[AppendRequest], recorded_us: int) -> _Encoded:
        """Number and chain each request's rows from the head it expects; a request that an
        earlier one in the batch has overtaken is a conflict already."""
        out = _Encoded()
        streams, expected, prev_hashes, req, versions, ids, types = out.args[:7]
        schema_versions, cases, datas, metas, prevs, hashes = out.args[7:]
        tails = out.tails
        for request in batch:
            if request.stream_id in tails:
                version, head = tails[request.stream_id]
                if version != request.expected_version:
                    # Decided within the batch: an earlier request moved the stream on.
                    request.future.set_exception(
                        conflict(request.stream_id, version, request.expected_version)
                    )
                    continue
            else:
                # The database checks this head; a stale one is reported back.
                version, head = self._heads[request.stream_id]
                version = request.expected_version
            out.sent.append(request)
            index = len(out.sent)
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
        return out

    async def _settle(
        self, encoded: _Encoded, rows: list[asyncpg.Record], recorded_at: datetime
    ) -> list[AppendRequest]:
        """Answer each sent request from `append_batch`'s rows; returns those worth a retry."""
        written: dict[UUID, asyncpg.Record] = {}
        refused: dict[int, asyncpg.Record] = {}
        for row in rows:
            if row["status"] == "ok":
                written[row["event_id"]] = row
            else:
                refused[row["req"]] = row
        retry: list[AppendRequest] = []
        unsettled: set[str] = set()  # streams whose head this batch did not decide
        for index, request in enumerate(encoded.sent, start=1):
            outcome = refused.get(index)
            if outcome is None:
                mine = [written[r[0]] for r in request.rows]
                if request.expected_version == 0:  # this wrote the stream's first event
                    self._on_new_stream(request.stream_id, request.rows[0][4]["agency"])
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
                request.future.set_exception(
                    conflict(request.stream_id, current, request.expected_version)
                )
        for stream_id, (version, head) in encoded.tails.items():
            if stream_id not in unsettled:
                self._remember_head(stream_id, version, head)
        return retry

    async def _already_stored(self, request: AppendRequest) -> AppendResult:
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
            raise ids_used_elsewhere()
        return AppendResult(
            request.stream_id,
            stored[-1]["stream_version"],
            tuple(r["global_position"] for r in stored),
            stored[-1]["recorded_at"],
            False,
        )


def _fail(batch: list[AppendRequest], exc: Exception) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(exc)
