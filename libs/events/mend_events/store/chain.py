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
    """Recompute every stream's hash chain in `schema` from the stored columns; list each break."""
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
            computed = link(
                bytes(row["prev_hash"]),
                row["stream_id"],
                row["stream_version"],
                row["event_id"],
                row["event_type"],
                row["schema_version"],
                row["case_id"],
                canonical_json(row["data"]),
                canonical_json(row["metadata"]),
                micros(row["recorded_at"]),
            )
            if computed != bytes(row["hash"]):
                breaks.append(ChainBreak(*where, "content does not match its hash"))
            last_version, last_hash = row["stream_version"], bytes(row["hash"])
    return breaks
