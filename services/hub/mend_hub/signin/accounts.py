"""The account rows: found by the keyed hash of the login name, never by the name; failures,
locks and the second factor kept with them. Every statement that changes a count or a lock runs
on a row the caller holds (`SELECT ... FOR UPDATE`), so concurrent attempts count one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from mend_events.contracts.actors import Role
from mend_events.errors import Conflict


@dataclass(frozen=True, slots=True)
class Account:
    agency: str
    person_id: str
    role: Role
    kind: str  # staff | participant
    password_hash: str
    totp_sealed: bytes | None
    totp_pending: bytes | None
    totp_last_step: int | None
    failures: int
    locked_until: datetime | None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


_COLUMNS = (
    "agency, person_id, role, kind, password_hash, totp_sealed, totp_pending, totp_last_step, "
    "failures, locked_until"
)


def _account(row: asyncpg.Record | None) -> Account | None:
    if row is None:
        return None
    return Account(**{**dict(row), "role": Role(row["role"])})


class Accounts:
    def __init__(self, schema: str) -> None:
        self._t = f"{schema}.signin_accounts"

    async def by_login(
        self, conn: asyncpg.Connection, agency: str, lookup: bytes
    ) -> Account | None:
        return _account(
            await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {self._t} WHERE agency = $1 AND login_lookup = $2 "
                "FOR UPDATE",
                agency,
                lookup,
            )
        )

    async def by_person(
        self, conn: asyncpg.Connection, agency: str, person_id: str
    ) -> Account | None:
        return _account(
            await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {self._t} WHERE agency = $1 AND person_id = $2 FOR UPDATE",
                agency,
                person_id,
            )
        )

    async def agency_of(
        self, conn: asyncpg.Connection, person_id: str, preferred: str
    ) -> str | None:
        """An agency where the person has an account: `preferred` if there, else any."""
        return await conn.fetchval(
            f"SELECT agency FROM {self._t} WHERE person_id = $1 "
            "ORDER BY (agency = $2) DESC, agency LIMIT 1",
            person_id,
            preferred,
        )

    async def create(
        self,
        conn: asyncpg.Connection,
        *,
        agency: str,
        person_id: str,
        role: Role,
        kind: str,
        lookup: bytes,
        password_hash: str,
        now: datetime,
    ) -> None:
        try:
            await conn.execute(
                f"INSERT INTO {self._t} (agency, person_id, role, kind, login_lookup, "
                "password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                agency,
                person_id,
                str(role),
                kind,
                lookup,
                password_hash,
                now,
            )
        except asyncpg.UniqueViolationError as exc:
            # Which constraint says whether the person has an account or the name is taken;
            # the name itself is never repeated back.
            if "login_lookup" in (exc.constraint_name or ""):
                raise Conflict("this login name is taken in the agency", field="username") from None
            raise Conflict("this person already has an account", field="person_id") from None

    async def failed(
        self, conn: asyncpg.Connection, account: Account, locked_until: datetime | None
    ) -> int:
        return await conn.fetchval(
            f"UPDATE {self._t} SET failures = failures + 1, "
            "locked_until = COALESCE($3, locked_until) "
            "WHERE agency = $1 AND person_id = $2 RETURNING failures",
            account.agency,
            account.person_id,
            locked_until,
        )

    async def succeeded(
        self,
        conn: asyncpg.Connection,
        account: Account,
        *,
        rehashed: str | None = None,
        totp_step: int | None = None,
        confirm_totp: bool = False,
    ) -> None:
        await conn.execute(
            f"UPDATE {self._t} SET failures = 0, locked_until = NULL, "
            "password_hash = COALESCE($3, password_hash), "
            "totp_last_step = COALESCE($4, totp_last_step), "
            "totp_sealed = CASE WHEN $5 THEN totp_pending ELSE totp_sealed END, "
            "totp_pending = CASE WHEN $5 THEN NULL ELSE totp_pending END "
            "WHERE agency = $1 AND person_id = $2",
            account.agency,
            account.person_id,
            rehashed,
            totp_step,
            confirm_totp,
        )

    async def rehash(self, conn: asyncpg.Connection, account: Account, rehashed: str) -> None:
        """A hash of the same password with the current parameters."""
        await conn.execute(
            f"UPDATE {self._t} SET password_hash = $3 WHERE agency = $1 AND person_id = $2",
            account.agency,
            account.person_id,
            rehashed,
        )

    async def reset(
        self, conn: asyncpg.Connection, account: Account, lookup: bytes, password_hash: str
    ) -> None:
        """A new login name and password; no second factor (to enrol again); no lock. The old
        secret's last accepted step goes with it: the new secret's codes are not held back by
        it (its first code would otherwise be refused until the clock passed that step)."""
        try:
            await conn.execute(
                f"UPDATE {self._t} SET login_lookup = $3, password_hash = $4, totp_sealed = NULL, "
                "totp_pending = NULL, totp_last_step = NULL, failures = 0, locked_until = NULL "
                "WHERE agency = $1 AND person_id = $2",
                account.agency,
                account.person_id,
                lookup,
                password_hash,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("this login name is taken in the agency", field="username") from None

    async def unlock(self, conn: asyncpg.Connection, account: Account) -> None:
        await conn.execute(
            f"UPDATE {self._t} SET failures = 0, locked_until = NULL "
            "WHERE agency = $1 AND person_id = $2",
            account.agency,
            account.person_id,
        )

    async def set_pending_totp(
        self, conn: asyncpg.Connection, account: Account, sealed: bytes
    ) -> None:
        await conn.execute(
            f"UPDATE {self._t} SET totp_pending = $3 WHERE agency = $1 AND person_id = $2",
            account.agency,
            account.person_id,
            sealed,
        )
