"""The hash chain of a stream: what each event's hash covers, and its verification.

Each event's hash is sha256(previous hash + `digest_input`), starting from `ZERO_HASH`; a
changed byte anywhere in a stream breaks every later link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

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


async def verify_chain(pool: asyncpg.Pool, schema: str) -> list[ChainBreak]:
    """Recompute every stream's hash chain in `schema` from the stored columns; list each break.

    The rows are read in global position order, the table's own order: a sequential scan whose
    cost per event stays flat as the store grows (in stream order, an index scan visits the heap
    at random, and slows as the table outgrows memory). Within a stream, positions follow the
    versions (appends are serialised and a batch inserts in order), so each stream's head so far
    is kept by stream. The database hands over the event id as text and the recording time as
    whole epoch microseconds, exactly as the hash covers them: no uuid or datetime is built per
    row (a third of a row's cost in Python)."""
    breaks: list[ChainBreak] = []
    heads: dict[str, tuple[int, bytes]] = {}
    fresh = (0, ZERO_HASH)
    sha256 = hashlib.sha256
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        cursor = conn.cursor(
            f"SELECT global_position, stream_id, stream_version, event_id::text, event_type, "
            f"schema_version, case_id, data::text, metadata::text, "
            f"(extract(epoch FROM recorded_at) * 1000000)::bigint, prev_hash, hash "
            f"FROM {schema}.events ORDER BY global_position",
            prefetch=10000,
        )
        async for row in cursor:
            stream, version, event_id, event_type, schema_version = row[1:6]
            case_id, data, meta, recorded_us, prev, stored = row[6:]
            last_version, last_hash = heads.get(stream, fresh)
            if version != last_version + 1:
                breaks.append(_break(schema, row, f"version gap after {last_version}"))
            if prev != last_hash:
                breaks.append(_break(schema, row, "prev_hash does not match the previous event"))
            head = f"{stream}|{version}|{event_id}|{event_type}|{schema_version}|{case_id}|"
            computed = sha256(
                b"".join((prev, head.encode(), _canonical_text(data), b"|",
                          _canonical_text(meta), b"|", str(recorded_us).encode()))
            ).digest()  # fmt: skip
            if computed != stored:
                breaks.append(_break(schema, row, "content does not match its hash"))
            heads[stream] = (version, stored)
    return breaks


def _break(schema: str, row: asyncpg.Record, problem: str) -> ChainBreak:
    return ChainBreak(schema, row[1], row[2], row[0], problem)


def _canonical_text(text: str | bytes) -> bytes:
    """`canonical_json` of a JSON document given as text (jsonb's own text form differs)."""
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS)
