"""Refresh tokens and second-factor challenges: opaque random values, stored as digests only.

A sign-in starts a family. Each refresh marks its token used and issues the next one of the
family; a token presented again after it was used means a copy exists (stolen, or replayed), so
the whole family is revoked and its holder must sign in again. A token expires when idle
(`IDLE`, counted from its issue) and every family at `ABSOLUTE` after its sign-in, whatever the
use. Sign-out revokes the family."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from mend_hub.signin.vault import new_token, token_digest

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
CHALLENGE_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Holder:
    agency: str
    person_id: str
    family: UUID


class Refresh:
    def __init__(self, schema: str) -> None:
        self._s = schema

    async def start(
        self, conn: asyncpg.Connection, agency: str, person_id: str, now: datetime
    ) -> tuple[str, int]:
        family = uuid4()
        await conn.execute(
            f"INSERT INTO {self._s}.signin_refresh_families (family, agency, person_id, "
            "started_at) VALUES ($1, $2, $3, $4)",
            family,
            agency,
            person_id,
            now,
        )
        return await self._issue(conn, family, now, now)

    async def _issue(
        self, conn: asyncpg.Connection, family: UUID, started: datetime, now: datetime
    ) -> tuple[str, int]:
        token = new_token()
        expires = min(now + IDLE, started + ABSOLUTE)
        await conn.execute(
            f"INSERT INTO {self._s}.signin_refresh_tokens (digest, family, expires_at) "
            "VALUES ($1, $2, $3)",
            token_digest(token),
            family,
            expires,
        )
        return token, int((expires - now).total_seconds())

    async def rotate(
        self, conn: asyncpg.Connection, token: str, now: datetime
    ) -> tuple[Holder, str, int] | None:
        """The next token of `token`'s family, or None when it is unknown, expired, of a
        revoked family, or used before (which revokes the family)."""
        row = await conn.fetchrow(
            f"SELECT t.family, t.expires_at, t.used_at, f.agency, f.person_id, f.started_at, "
            f"f.revoked_at FROM {self._s}.signin_refresh_tokens t "
            f"JOIN {self._s}.signin_refresh_families f USING (family) "
            "WHERE t.digest = $1 FOR UPDATE OF t, f",
            token_digest(token),
        )
        if row is None or row["revoked_at"] is not None:
            return None
        if row["used_at"] is not None:
            await self.revoke(conn, row["family"], now)
            return None
        if row["expires_at"] <= now:
            return None
        await conn.execute(
            f"UPDATE {self._s}.signin_refresh_tokens SET used_at = $2 WHERE digest = $1",
            token_digest(token),
            now,
        )
        holder = Holder(row["agency"], row["person_id"], row["family"])
        next_token, ttl = await self._issue(conn, row["family"], row["started_at"], now)
        return holder, next_token, ttl

    async def holder(self, conn: asyncpg.Connection, token: str) -> UUID | None:
        return await conn.fetchval(
            f"SELECT family FROM {self._s}.signin_refresh_tokens WHERE digest = $1",
            token_digest(token),
        )

    async def revoke(self, conn: asyncpg.Connection, family: UUID, now: datetime) -> None:
        await conn.execute(
            f"UPDATE {self._s}.signin_refresh_families SET revoked_at = $2 "
            "WHERE family = $1 AND revoked_at IS NULL",
            family,
            now,
        )

    async def end_all(
        self, conn: asyncpg.Connection, agency: str, person_id: str, now: datetime
    ) -> None:
        """Every session and pending challenge of the person ends (their credentials changed)."""
        await conn.execute(
            f"UPDATE {self._s}.signin_refresh_families SET revoked_at = $3 "
            "WHERE agency = $1 AND person_id = $2 AND revoked_at IS NULL",
            agency,
            person_id,
            now,
        )
        await conn.execute(
            f"DELETE FROM {self._s}.signin_challenges WHERE agency = $1 AND person_id = $2",
            agency,
            person_id,
        )

    # ---- second-factor challenges -----------------------------------------------------------

    async def challenge(
        self, conn: asyncpg.Connection, agency: str, person_id: str, now: datetime
    ) -> str:
        token = new_token()
        await conn.execute(
            f"INSERT INTO {self._s}.signin_challenges (digest, agency, person_id, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            token_digest(token),
            agency,
            person_id,
            now + CHALLENGE_TTL,
        )
        return token

    async def challenged(
        self, conn: asyncpg.Connection, token: str, now: datetime, *, consume: bool
    ) -> tuple[str, str] | None:
        """(agency, person) of a live challenge; `consume` ends it (a code was accepted)."""
        row = await conn.fetchrow(
            f"SELECT agency, person_id, expires_at FROM {self._s}.signin_challenges "
            "WHERE digest = $1",
            token_digest(token),
        )
        if row is None or row["expires_at"] <= now:
            return None
        if consume:
            await conn.execute(
                f"DELETE FROM {self._s}.signin_challenges WHERE digest = $1", token_digest(token)
            )
        return row["agency"], row["person_id"]
