"""Where wrapped data keys are kept: the `KeyStore` protocol, in memory and on PostgreSQL
(its own table `data_keys`, apart from the events). Shredding a key keeps its row, not its
material."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from mend_events.security.crypto.cipher import (
    CryptoError,
)
from mend_events.store.schemas import checked_schema


@dataclass(frozen=True, slots=True)
class DataKeyRecord:
    """One row of `data_keys`. `wrapped` is None once shredded (and `shredded_at` set)."""

    kid: str
    agency: str
    owner: str
    kek_id: str
    wrapped: bytes | None
    created_at: datetime
    shredded_at: datetime | None = None


class KeyStore(Protocol):
    async def get_key(self, kid: str) -> DataKeyRecord | None:
        """The record of this key id, shredded or not; None if it never existed."""
        ...

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        """The owner's current (not shredded) key in this agency, if any."""
        ...

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        """Insert unless the owner already has an active key in this agency (a concurrent
        creator won); returns the active record either way."""
        ...

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Destroy the wrapped keys of this owner (in `agency` only, when given; only those
        created at or before `before`, when given); record `at`. Returns the kids destroyed now
        (keys shredded earlier are left as they are)."""
        ...


class InMemoryKeyStore:
    """A `KeyStore` in a dict, for tests and local tools."""

    def __init__(self) -> None:
        self.rows: dict[str, DataKeyRecord] = {}

    async def get_key(self, kid: str) -> DataKeyRecord | None:
        return self.rows.get(kid)

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        for row in self.rows.values():
            if row.agency == agency and row.owner == owner and row.shredded_at is None:
                return row
        return None

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        existing = await self.active_key(record.agency, record.owner)
        if existing is not None:
            return existing
        if record.kid in self.rows:
            raise CryptoError(f"key id {record.kid} already exists")
        self.rows[record.kid] = record
        return record

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        kids = [
            kid
            for kid, row in self.rows.items()
            if row.owner == owner
            and row.shredded_at is None
            and (agency is None or row.agency == agency)
            and (before is None or row.created_at <= before)
        ]
        for kid in kids:
            self.rows[kid] = replace(self.rows[kid], wrapped=None, shredded_at=at)
        return kids


# The DDL of the key table, per schema: its definition in store/sql is the one source of it.
DATA_KEYS_DDL = (
    importlib.resources.files("mend_events") / "store" / "sql" / "07_data_keys.sql"
).read_text()


def data_keys_ddl(schema: str) -> str:
    return DATA_KEYS_DDL.format(schema=checked_schema(schema))


class PgKeyStore:
    """`KeyStore` on asyncpg. `db` is a pool or a connection (anything with fetchrow/fetch)."""

    def __init__(self, db: Any, schema: str = "public") -> None:
        self._db = db
        s = checked_schema(schema)
        cols = "kid, agency, owner, kek_id, wrapped_key, created_at, shredded_at"
        self._sql_get = f"SELECT {cols} FROM {s}.data_keys WHERE kid = $1"
        self._sql_active = (
            f"SELECT {cols} FROM {s}.data_keys "
            "WHERE agency = $1 AND owner = $2 AND shredded_at IS NULL"
        )
        self._sql_insert = (
            f"INSERT INTO {s}.data_keys (kid, agency, owner, kek_id, wrapped_key, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (agency, owner) WHERE shredded_at IS NULL DO NOTHING "
            f"RETURNING {cols}"
        )
        self._sql_shred = (
            f"UPDATE {s}.data_keys SET wrapped_key = NULL, shredded_at = $2 "
            "WHERE owner = $1 AND shredded_at IS NULL "
            "AND ($3::text IS NULL OR agency = $3) "
            "AND ($4::timestamptz IS NULL OR created_at <= $4) RETURNING kid"
        )

    @staticmethod
    def _record(row: Any) -> DataKeyRecord | None:
        if row is None:
            return None
        wrapped = row["wrapped_key"]
        return DataKeyRecord(
            kid=row["kid"],
            agency=row["agency"],
            owner=row["owner"],
            kek_id=row["kek_id"],
            wrapped=bytes(wrapped) if wrapped is not None else None,
            created_at=row["created_at"],
            shredded_at=row["shredded_at"],
        )

    async def get_key(self, kid: str) -> DataKeyRecord | None:
        return self._record(await self._db.fetchrow(self._sql_get, kid))

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        return self._record(await self._db.fetchrow(self._sql_active, agency, owner))

    async def _insert(self, record: DataKeyRecord) -> DataKeyRecord | None:
        """`record` as stored, or None when the owner already has an active key."""
        row = await self._db.fetchrow(
            self._sql_insert,
            record.kid,
            record.agency,
            record.owner,
            record.kek_id,
            record.wrapped,
            record.created_at,
        )
        return self._record(row)

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        created = await self._insert(record)
        if created is not None:
            return created
        winner = await self.active_key(record.agency, record.owner)
        if winner is None:  # the winner was shredded in between: very unlikely; try once more
            winner = await self._insert(record)
            if winner is None:
                raise CryptoError(f"could not create a data key for {record.owner}")
        return winner

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        rows = await self._db.fetch(self._sql_shred, owner, at, agency, before)
        return [r["kid"] for r in rows]
