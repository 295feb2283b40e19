"""The disclosure ledger (issue 18; kept by the disclosure gateway in its schema, verified by
`mend audit verify`, read by `mend audit disclosures`): append-only and hash-chained, like
the event stores (store/chain.py).
Each row's hash is sha256(previous hash + the canonical JSON of its columns), starting from
ZERO_HASH; a changed byte in any row breaks its link and every later one. Rows name who
received what (kind, recipient, subjects and case by pseudonymous id, event ids and field
paths, a digest of the bytes sent, the grant, purpose and legal basis): never a value.

Appends take the ledger's lock (a transaction-level advisory lock), so the chain has one
order; the caller's transaction also writes the outbox row, so a disclosure is recorded
exactly when it is sent."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

from mend_events.store.chain import ZERO_HASH, canonical_json, micros


class EntryKind(StrEnum):
    DISCLOSURE = "disclosure"
    WITHDRAWAL_NOTICE = "withdrawal_notice"
    ERASURE_NOTICE = "erasure_notice"
    PARTNER_READ = "partner_read"


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: UUID
    kind: EntryKind
    recorded_at: datetime
    recipient_agency: str
    recipient_principal: str
    case_id: str | None
    subjects: tuple[str, ...]
    event_ids: tuple[UUID, ...]
    field_paths: tuple[str, ...] = ()
    digest: bytes | None = None
    grant_id: UUID | None = None
    grant_version: int | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # not stored; for the caller


def entry_bytes(position: int, e: Entry) -> bytes:
    """What a row's hash covers (after its predecessor's hash)."""
    return canonical_json(
        {
            "position": position,
            "entry_id": str(e.entry_id),
            "kind": str(e.kind),
            "recorded_at": micros(e.recorded_at),
            "recipient_agency": e.recipient_agency,
            "recipient_principal": e.recipient_principal,
            "case_id": e.case_id,
            "subjects": list(e.subjects),
            "event_ids": [str(i) for i in e.event_ids],
            "field_paths": list(e.field_paths),
            "digest": None if e.digest is None else e.digest.hex(),
            "grant_id": None if e.grant_id is None else str(e.grant_id),
            "grant_version": e.grant_version,
            "purpose": e.purpose,
            "legal_basis": e.legal_basis,
        }
    )


def link(prev_hash: bytes, position: int, e: Entry) -> bytes:
    return hashlib.sha256(prev_hash + entry_bytes(position, e)).digest()


_COLUMNS = (
    "position, entry_id, kind, recorded_at, recipient_agency, recipient_principal, case_id, "
    "subjects, event_ids, field_paths, digest, grant_id, grant_version, purpose, legal_basis, "
    "prev_hash, hash"
)


class Ledger:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.lock_key = zlib.crc32(f"ledger:{schema}".encode())

    async def append(self, conn: asyncpg.Connection, e: Entry) -> int:
        """Append `e` in the caller's transaction; returns its position."""
        return (await self.append_many(conn, [e]))[0]

    async def append_many(self, conn: asyncpg.Connection, entries: list[Entry]) -> list[int]:
        """Append `entries` in order, in the caller's transaction (one lock, one statement);
        returns their positions."""
        if not entries:
            return []
        await conn.execute("SELECT pg_advisory_xact_lock($1)", self.lock_key)
        last = await conn.fetchrow(
            f"SELECT position, hash FROM {self.schema}.disclosure_ledger "
            f"ORDER BY position DESC LIMIT 1"
        )
        position, prev = (1, ZERO_HASH) if last is None else (last[0] + 1, bytes(last[1]))
        rows, positions = [], []
        for e in entries:
            digest = link(prev, position, e)
            rows.append((
                position, e.entry_id, str(e.kind), e.recorded_at, e.recipient_agency,
                e.recipient_principal, e.case_id, list(e.subjects), list(e.event_ids),
                list(e.field_paths), e.digest, e.grant_id, e.grant_version, e.purpose,
                e.legal_basis, prev, digest,
            ))  # fmt: skip
            positions.append(position)
            position, prev = position + 1, digest
        await conn.executemany(
            f"INSERT INTO {self.schema}.disclosure_ledger ({_COLUMNS}) VALUES "
            f"($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
            rows,
        )
        return positions

    async def verify(self, pool: asyncpg.Pool) -> list[str]:
        """Every break of the chain, in words naming the position (no values)."""
        breaks: list[str] = []
        prev, expected = ZERO_HASH, 1
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            async for r in conn.cursor(
                f"SELECT {_COLUMNS} FROM {self.schema}.disclosure_ledger ORDER BY position"
            ):
                pos = r["position"]
                if pos != expected:
                    breaks.append(f"disclosure ledger: position {expected} is missing")
                if bytes(r["prev_hash"]) != prev:
                    breaks.append(f"disclosure ledger position {pos}: previous hash differs")
                if bytes(r["hash"]) != link(prev, pos, entry_of(r)):
                    breaks.append(f"disclosure ledger position {pos}: hash does not match row")
                prev, expected = bytes(r["hash"]), pos + 1
        return breaks

    async def about(self, conn: asyncpg.Connection, person_id: str) -> list[dict[str, Any]]:
        """Who learned what about `person_id`, when, under which grant: every row naming them."""
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {self.schema}.disclosure_ledger "
            f"WHERE subjects @> ARRAY[$1]::text[] ORDER BY position",
            person_id,
        )
        return [view(r) for r in rows]

    async def recipients_of(
        self, conn: asyncpg.Connection, person_id: str, agency: str
    ) -> list[str]:
        """The agencies the ledger says received data about `person_id` (of `agency`'s cases)."""
        rows = await conn.fetch(
            f"SELECT DISTINCT recipient_agency FROM {self.schema}.disclosure_ledger "
            f"WHERE kind = 'disclosure' AND subjects @> ARRAY[$1]::text[] ORDER BY 1",
            person_id,
        )
        del agency  # one deployment's pseudonymous ids are unique across its agencies
        return [r[0] for r in rows]


def entry_of(r: asyncpg.Record) -> Entry:
    return Entry(
        entry_id=r["entry_id"],
        kind=EntryKind(r["kind"]),
        recorded_at=r["recorded_at"],
        recipient_agency=r["recipient_agency"],
        recipient_principal=r["recipient_principal"],
        case_id=r["case_id"],
        subjects=tuple(r["subjects"]),
        event_ids=tuple(r["event_ids"]),
        field_paths=tuple(r["field_paths"]),
        digest=None if r["digest"] is None else bytes(r["digest"]),
        grant_id=r["grant_id"],
        grant_version=r["grant_version"],
        purpose=r["purpose"],
        legal_basis=r["legal_basis"],
    )


def view(r: asyncpg.Record) -> dict[str, Any]:
    e = entry_of(r)
    return {
        "position": r["position"],
        "entry_id": str(e.entry_id),
        "kind": str(e.kind),
        "recorded_at": e.recorded_at.isoformat(),
        "recipient_agency": e.recipient_agency,
        "recipient_principal": e.recipient_principal,
        "case_id": e.case_id,
        "subjects": list(e.subjects),
        "event_ids": [str(i) for i in e.event_ids],
        "field_paths": list(e.field_paths),
        "digest": None if e.digest is None else e.digest.hex(),
        "grant_id": None if e.grant_id is None else str(e.grant_id),
        "grant_version": e.grant_version,
        "purpose": e.purpose,
        "legal_basis": e.legal_basis,
    }
