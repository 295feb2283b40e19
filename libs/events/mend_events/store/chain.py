"""The hash chain of a stream: what each event's hash covers, and its verification.

Each event's hash is sha256(previous hash + `digest_input`), starting from `ZERO_HASH`; a
changed byte anywhere in a stream breaks every later link.
"""

from __future__ import annotations

import asyncio
import hashlib
import pickle
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from mend_events.app.db import connect

ZERO_HASH = b"\x00" * 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def micros(at: datetime) -> int:
    """A recording time as the hash covers it: whole microseconds since the epoch."""
    return (at - _EPOCH) // timedelta(microseconds=1)


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


def link(prev_hash: bytes, *digest_args: Any) -> bytes:
    """One link of the chain: the hash of a row (`digest_input`'s arguments) after `prev_hash`."""
    return hashlib.sha256(prev_hash + digest_input(*digest_args)).digest()


# Below this many events a store is verified in-process: starting worker processes would
# cost more than it saves.
PARALLEL_FROM = 100_000
_PAGE = 10_000  # rows per round trip of a verifying reader
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")
_FRESH = (0, ZERO_HASH)


@dataclass(slots=True)
class ChainSpan:
    """What verifying one range of global positions found, and what the ranges after it need:
    each stream's first event in the range (version, prev_hash, global position), whose link to
    the stream's earlier events only the merge can judge, and each stream's last (version,
    hash)."""

    breaks: list[ChainBreak]
    firsts: dict[str, tuple[int, bytes, int]]
    lasts: dict[str, tuple[int, bytes]]


async def verify_chain(
    pool: asyncpg.Pool, schema: str, *, dsn: str | None = None, workers: int = 1
) -> list[ChainBreak]:
    """Recompute every stream's hash chain in `schema` from the stored columns; list each break
    in global position order.

    The rows are read in global position order, the table's own order: a sequential scan whose
    cost per event stays flat as the store grows (in stream order, an index scan visits the heap
    at random, and slows as the table outgrows memory). Within a stream, positions follow the
    versions (appends are serialised and a batch inserts in order), so each stream's head so far
    is kept by stream.

    With `workers` > 1 and the database's `dsn`, a store of PARALLEL_FROM events or more is cut
    into `workers` ranges of positions, each verified in a process of its own (hashing is
    Python's work, one core each) on the same exported snapshot; the links across the cuts
    are judged when the ranges are merged. The result is the same as in one process."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        low, high = await conn.fetchrow(
            f"SELECT coalesce(min(global_position), 0), coalesce(max(global_position), 0) "
            f"FROM {schema}.events"
        )
        if workers <= 1 or dsn is None or high - low + 1 < PARALLEL_FROM:
            return _merge(schema, [await _verify_span(conn, schema, low, high)])
        # Every worker reads this transaction's snapshot: the same rows as one reader would.
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        cuts = [low + (high - low + 1) * i // workers for i in range(workers + 1)]
        ranges = [(cuts[i], cuts[i + 1] - 1) for i in range(workers)]
        # A worker that fails cancels the others (and a cancelled one kills its process);
        # the caller learns the first failure, as from one process.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(_span_in_worker(dsn, schema, snapshot, lo, hi))
                         for lo, hi in ranges]  # fmt: skip
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
    return _merge(schema, [t.result() for t in tasks])


async def _span_in_worker(dsn: str, schema: str, snapshot: str, low: int, high: int) -> ChainSpan:
    """One range in a worker process (`python -m mend_events.store.chain_worker`), told its
    task on stdin (never in its arguments, which other users of the machine can list)."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mend_events.store.chain_worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await worker.communicate(pickle.dumps((dsn, schema, snapshot, low, high)))
    finally:
        if worker.returncode is None:  # cancelled: no process is left hashing for nobody
            worker.kill()
            await worker.wait()
    if worker.returncode != 0:
        raise RuntimeError(f"a chain verification worker failed (exit {worker.returncode})")
    span = pickle.loads(out)  # from our own child process
    if not isinstance(span, ChainSpan):
        raise RuntimeError("a chain verification worker answered something else")
    return span


async def verify_span_on_snapshot(
    dsn: str, schema: str, snapshot: str, low: int, high: int
) -> ChainSpan:
    """A worker's range, read on the coordinator's exported snapshot."""
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError("not a snapshot id")
    conn = await connect(dsn)  # the same TLS as every connection of the services
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return await _verify_span(conn, schema, low, high)
    finally:
        await conn.close()


async def _verify_span(conn: asyncpg.Connection, schema: str, low: int, high: int) -> ChainSpan:
    """The positions `low`..`high`. The database hands over the event id as text and the
    recording time as whole epoch microseconds, exactly as the hash covers them: no uuid or
    datetime is built per row (a third of a row's cost in Python)."""
    breaks: list[ChainBreak] = []
    firsts: dict[str, tuple[int, bytes, int]] = {}
    heads: dict[str, tuple[int, bytes]] = {}
    # Canonical JSON of jsonb's text (`canonical_json`), with the names looked up once. The
    # hash is the writer's own definition (`link`): one place says what a link covers.
    loads, dumps = orjson.loads, orjson.dumps
    sort_keys = orjson.OPT_SORT_KEYS
    cursor = await conn.cursor(
        f"SELECT global_position, stream_id, stream_version, event_id::text, event_type, "
        f"schema_version, case_id, data::text, metadata::text, "
        f"(extract(epoch FROM recorded_at) * 1000000)::bigint, prev_hash, hash "
        f"FROM {schema}.events WHERE global_position BETWEEN $1 AND $2 "
        f"ORDER BY global_position",
        low,
        high,
    )
    page = await cursor.fetch(_PAGE)
    while page:
        # The next page is asked for before this one is hashed: the database reads and sends
        # it meanwhile, instead of waiting for the hashing to finish.
        upcoming = asyncio.ensure_future(cursor.fetch(_PAGE))
        await asyncio.sleep(0)  # the request goes out now
        for position, stream, version, event_id, event_type, schema_version, case_id, data, \
                meta, recorded_us, prev, stored in page:  # fmt: skip
            last = heads.get(stream)
            if last is None:  # judged against the earlier ranges by _merge
                firsts[stream] = (version, prev, position)
            elif version != last[0] + 1 or prev != last[1]:
                _link(breaks, schema, stream, version, position, prev, last)
            computed = link(prev, stream, version, event_id, event_type, schema_version,
                            case_id, dumps(loads(data), option=sort_keys),
                            dumps(loads(meta), option=sort_keys), recorded_us)  # fmt: skip
            if computed != stored:
                breaks.append(ChainBreak(schema, stream, version, position, _CONTENT))
            heads[stream] = (version, stored)
        page = await upcoming
    return ChainSpan(breaks, firsts, heads)


_GAP = "version gap after {}"
_PREV = "prev_hash does not match the previous event"
_CONTENT = "content does not match its hash"
_ORDER = {"version": 0, "prev_hash": 1, "content": 2}  # a row's breaks, in the order checked


def _link(
    breaks: list[ChainBreak],
    schema: str,
    stream: str,
    version: int,
    position: int,
    prev: bytes,
    last: tuple[int, bytes],
) -> None:
    """Is the row the next link of its stream after `last` (version, hash)?"""
    if version != last[0] + 1:
        breaks.append(ChainBreak(schema, stream, version, position, _GAP.format(last[0])))
    if prev != last[1]:
        breaks.append(ChainBreak(schema, stream, version, position, _PREV))


def _merge(schema: str, spans: list[ChainSpan]) -> list[ChainBreak]:
    """Every span's breaks, and the links across the cuts: each stream's first event in a span
    after the head the earlier spans left it."""
    breaks: list[ChainBreak] = []
    heads: dict[str, tuple[int, bytes]] = {}
    for span in spans:
        breaks += span.breaks
        for stream, (version, prev, position) in span.firsts.items():
            _link(breaks, schema, stream, version, position, prev, heads.get(stream, _FRESH))
        heads.update(span.lasts)
    return sorted(breaks, key=lambda b: (b.global_position, _ORDER[b.problem.split(" ")[0]]))
