"""One-time activation codes for participants: shown once to the practitioner who invites,
stored as a digest, valid for `VALID_FOR`, redeemed once (the UPDATE that redeems is the check)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from mend_events.contracts.actors import Role

from mend_hub.signin.vault import new_token, token_digest

VALID_FOR = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Invitation:
    agency: str
    person_id: str
    role: Role


class Invitations:
    def __init__(self, schema: str) -> None:
        self._t = f"{schema}.signin_invitations"

    async def issue(
        self,
        conn: asyncpg.Connection,
        *,
        agency: str,
        person_id: str,
        role: Role,
        invited_by: str,
        now: datetime,
    ) -> tuple[str, datetime]:
        code = new_token(20)
        expires = now + VALID_FOR
        # One live code per person: a new one (the first was lost) ends the ones before it.
        await conn.execute(
            f"UPDATE {self._t} SET expires_at = $3 WHERE agency = $1 AND person_id = $2 "
            "AND redeemed_at IS NULL AND expires_at > $3",
            agency,
            person_id,
            now,
        )
        await conn.execute(
            f"INSERT INTO {self._t} (digest, agency, person_id, role, invited_by, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            token_digest(code),
            agency,
            person_id,
            str(role),
            invited_by,
            expires,
        )
        return code, expires

    async def redeem(self, conn: asyncpg.Connection, code: str, now: datetime) -> Invitation | None:
        row = await conn.fetchrow(
            f"UPDATE {self._t} SET redeemed_at = $2 WHERE digest = $1 AND redeemed_at IS NULL "
            "AND expires_at > $2 RETURNING agency, person_id, role",
            token_digest(code),
            now,
        )
        if row is None:
            return None
        return Invitation(row["agency"], row["person_id"], Role(row["role"]))
