"""The Ed25519 keys the hub signs a local-sign-in agency's tokens with, and the tokens.

The private half is kept sealed under the agency's KEK (`Vault`, purpose `signing-key`); the
public half is published as `AgencyKeyAdded`, which is how every service learns to verify it.
Rotation adds a new key (tokens are signed with the newest from then on); the old one is retired
through the hub's own key route (`AgencyKeyRetired`, now or at a later moment: the overlap, at
least the 5 minutes its last tokens live). A key with a retirement recorded signs nothing new."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mend_events.contracts.actors import Role
from mend_events.errors import Unavailable
from mend_events.security.identity import AUDIENCE

from mend_hub.signin.vault import Vault

ACCESS_TOKEN_TTL = timedelta(minutes=5)
_PURPOSE = "signing-key"


@dataclass(frozen=True, slots=True)
class NewKey:
    kid: str
    public_pem: str


class SigningKeys:
    def __init__(self, schema: str, vault: Vault) -> None:
        self._schema = schema
        self._vault = vault

    async def generate(self, conn: asyncpg.Connection, agency: str, now: datetime) -> NewKey:
        """A new signing key for `agency`, stored sealed; its public half is for AgencyKeyAdded."""
        private = Ed25519PrivateKey.generate()
        kid = f"{agency}-{now:%Y%m%d}-{secrets.token_hex(4)}"
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        public_pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        await conn.execute(
            f"INSERT INTO {self._schema}.signin_keys "
            "(kid, agency, public_pem, sealed_private, created_at) VALUES ($1, $2, $3, $4, $5)",
            kid,
            agency,
            public_pem,
            self._vault.seal(agency, _PURPOSE, kid, raw),
            now,
        )
        return NewKey(kid, public_pem)

    async def current(self, conn: asyncpg.Connection, agency: str) -> str | None:
        return await conn.fetchval(
            f"SELECT kid FROM {self._schema}.signin_keys WHERE agency = $1 "
            "ORDER BY seq DESC LIMIT 1",
            agency,
        )

    async def public_key(self, conn: asyncpg.Connection, kid: str) -> tuple[str, str] | None:
        """(agency, PEM) of one of the hub's keys (whether it still verifies: the hub's events)."""
        row = await conn.fetchrow(
            f"SELECT agency, public_pem FROM {self._schema}.signin_keys WHERE kid = $1",
            kid,
        )
        return (row["agency"], row["public_pem"]) if row is not None else None

    async def mint(
        self,
        conn: asyncpg.Connection,
        agency: str,
        person_id: str,
        role: Role,
        now: datetime,
        *,
        retired: frozenset[str] = frozenset(),
    ) -> tuple[str, int]:
        """An access token for the person (the claims `identity.TokenVerifier` checks, and the
        signing key's `kid` in the header), signed with the newest key not `retired` (any key with
        a retirement recorded in the hub's events); with its lifetime in seconds."""
        row = await conn.fetchrow(
            f"SELECT kid, sealed_private FROM {self._schema}.signin_keys "
            "WHERE agency = $1 AND NOT (kid = ANY($2::text[])) "
            "ORDER BY seq DESC LIMIT 1",
            agency,
            sorted(retired),
        )
        if row is None:
            raise Unavailable("the agency has no signing key for local sign-in yet")
        raw = self._vault.open(agency, _PURPOSE, row["kid"], row["sealed_private"])
        private = Ed25519PrivateKey.from_private_bytes(raw)
        iat = int(now.timestamp())
        ttl = int(ACCESS_TOKEN_TTL.total_seconds())
        claims = {
            "iss": agency,
            "sub": person_id,
            "role": str(role),
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + ttl,
        }
        token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": row["kid"]})
        return token, ttl
