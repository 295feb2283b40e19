"""Browser sessions, held server-side in the web app's own schema. The cookie carries only a
random id (256 bits); the table keeps its SHA-256 digest, the CSRF token, and the signed-in
person's own access and refresh tokens. A session idle for longer than `settings.idle` is gone
(the hub's refresh token expires after the same idle time)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebSession:
    digest: bytes
    csrf: str
    agency: str | None = None
    person_id: str | None = None
    role: str | None = None
    access_token: str | None = None
    access_expires: datetime | None = None
    refresh_token: str | None = None
    challenge: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None and self.refresh_token is not None


_COLUMNS = (
    "digest, csrf, agency, person_id, role, access_token, access_expires, refresh_token, challenge"
)


class Sessions:
    def __init__(self, pool: asyncpg.Pool, schema: str, idle: timedelta) -> None:
        self.pool, self.t, self.idle = pool, f"{schema}.web_sessions", idle

    async def start(self, now: datetime) -> tuple[str, WebSession]:
        """A visitor's session before sign-in: its id (for the cookie) and its CSRF token."""
        raw, csrf = new_secret(), new_secret()
        await self.pool.execute(
            f"INSERT INTO {self.t} (digest, csrf, created_at, last_seen) VALUES ($1, $2, $3, $3)",
            digest(raw),
            csrf,
            now,
        )
        return raw, WebSession(digest(raw), csrf)

    async def load(self, raw: str | None, now: datetime) -> WebSession | None:
        """The session the cookie names, its idle time restarted; None when unknown or idle
        for too long (then removed)."""
        if not raw or len(raw) > 128:
            return None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"UPDATE {self.t} SET last_seen = $2 WHERE digest = $1 AND last_seen > $3 "
                f"RETURNING {_COLUMNS}",
                digest(raw),
                now,
                now - self.idle,
            )
            if row is None:
                await conn.execute(f"DELETE FROM {self.t} WHERE digest = $1", digest(raw))
                return None
        return WebSession(**dict(row))

    async def challenged(self, s: WebSession, agency: str, challenge: str) -> None:
        """The password was accepted: the hub's challenge waits for the second factor."""
        await self.pool.execute(
            f"UPDATE {self.t} SET challenge = $2, agency = $3 WHERE digest = $1",
            s.digest,
            challenge,
            agency,
        )

    async def signed_in(
        self, s: WebSession, claims: dict[str, Any], tokens: dict[str, Any], now: datetime
    ) -> str:
        """The visitor's session ends and a new one (new id, new CSRF token) begins for the
        person: an id known before sign-in is worth nothing after it (session fixation)."""
        raw, csrf = new_secret(), new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DELETE FROM {self.t} WHERE digest = $1", s.digest)
            await conn.execute(
                f"INSERT INTO {self.t} ({_COLUMNS}, created_at, last_seen) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $9)",
                digest(raw),
                csrf,
                claims["iss"],
                claims["sub"],
                claims["role"],
                tokens["access_token"],
                now + timedelta(seconds=int(tokens["expires_in"])),
                tokens["refresh_token"],
                now,
            )
        return raw

    async def refreshed(self, s: WebSession, tokens: dict[str, Any], now: datetime) -> WebSession:
        expires = now + timedelta(seconds=int(tokens["expires_in"]))
        await self.pool.execute(
            f"UPDATE {self.t} SET access_token = $2, access_expires = $3, refresh_token = $4 "
            "WHERE digest = $1",
            s.digest,
            tokens["access_token"],
            expires,
            tokens["refresh_token"],
        )
        return WebSession(
            s.digest, s.csrf, s.agency, s.person_id, s.role, tokens["access_token"], expires,
            tokens["refresh_token"],
        )  # fmt: skip

    async def end(self, s: WebSession) -> None:
        await self.pool.execute(f"DELETE FROM {self.t} WHERE digest = $1", s.digest)

    async def sweep(self, now: datetime) -> int:
        """Remove sessions idle for too long (their refresh tokens are dead at the hub too)."""
        done = await self.pool.execute(
            f"DELETE FROM {self.t} WHERE last_seen <= $1", now - self.idle
        )
        return int(done.split()[-1])
