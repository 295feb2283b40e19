"""Who is asking: a signed token on every request, verified with the issuing agency's public key.

Tokens are JWTs signed with an asymmetric key of the agency (EdDSA / Ed25519 preferred; ECDSA
and RSA-PSS/RSA accepted when that agency's key is of that type). `none` and HS* are refused, and
the algorithm must match the agency's key type, so a public key can never serve as an HMAC secret.

Claims: `iss` agency id, `sub` pseudonymous person id, `role` (identity_types.Role), `aud` "mend",
`exp`, `iat`, optionally `cases` (the case ids allocated to a practitioner).

Public keys (`public_keys.py`): `MEND_AGENCY_PUBLIC_KEYS` (JSON {agency: PEM}) or the files
`<agency>.pub.pem` in `MEND_KEYS_DIR` (default `<repo>/.mend/keys`, where the development kit,
`mend_testkit.devkeys`, writes development keys).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from fastapi import Header

from mend_events.contracts.actors import Actor, Role
from mend_events.errors import Unauthenticated
from mend_events.security.public_keys import AGENCY_RE, PublicKey, PublicKeySource, keys_from_env

__all__ = [
    "AUDIENCE",
    "Identity",
    "TokenVerifier",
    "default_verifier",
    "require_identity",
    "reset_default_verifier",
    "verify_token",
]

AUDIENCE = "mend"
MAX_TOKEN_BYTES = 8192
_PSEUDO_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}-[A-Za-z0-9_-]{4,64}$")
_REQUIRED_CLAIMS = ["iss", "sub", "role", "aud", "exp", "iat"]


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller: the agency that vouches for them, their role and pseudonymous id."""

    agency: str
    role: Role
    person_id: str
    cases: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> Actor:
        return Actor(id=self.person_id, role=self.role, agency=self.agency)


def _algorithms_for(key: PublicKey) -> list[str]:
    """The only algorithms a key of this type may verify (no cross-type confusion)."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return ["EdDSA"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": ["ES256"], "secp384r1": ["ES384"], "secp521r1": ["ES512"]}.get(
            key.curve.name, []
        )
    if isinstance(key, rsa.RSAPublicKey):
        return ["PS256", "PS384", "PS512", "RS256", "RS384", "RS512"]
    return []


class TokenVerifier:
    """Verifies tokens against per-agency public keys. `leeway` (s) absorbs clock skew;
    `max_ttl` (s) refuses tokens that live longer than that (exp - iat)."""

    def __init__(
        self,
        keys: PublicKeySource,
        *,
        audience: str = AUDIENCE,
        leeway: int = 30,
        max_ttl: int = 24 * 3600,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._leeway = leeway
        self._max_ttl = max_ttl
        # Tokens verified already, with their expiry: the same bytes verify the same way, so
        # a client's next request costs a lookup instead of a signature check. Only the
        # expiry can change the answer; it is checked on every use.
        self._verified: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._verified_size = 10_000

    def verify(self, token: str) -> Identity:
        if not token:
            raise Unauthenticated("no token")
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("token too large")
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() <= hit[1] + self._leeway:
                return hit[0]
            del self._verified[token]  # expired: the full check below says so
        identity, exp = self._verify(token)
        self._verified[token] = (identity, exp)
        if len(self._verified) > self._verified_size:
            self._verified.popitem(last=False)
        return identity

    def _verify(self, token: str) -> tuple[Identity, float]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
            raise Unauthenticated(
                f"token algorithm {alg!r} is refused: only asymmetric signatures are accepted"
            )
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or not AGENCY_RE.match(issuer):
            raise Unauthenticated("token has no valid issuer (iss must be an agency id)")
        key = self._keys.public_key(issuer)
        if key is None:
            raise Unauthenticated(f"unknown issuer {issuer!r}: no public key for this agency")
        algorithms = _algorithms_for(key)
        if alg not in algorithms:
            raise Unauthenticated(
                f"token algorithm {alg} does not match agency {issuer}'s key "
                f"(expected {', '.join(algorithms) or 'none available'})"
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS, "verify_sub": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token not valid yet (iat or nbf in the future)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"token audience is not {self._audience!r}") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer does not match") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated(f"token signature does not verify with {issuer}'s key") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        return self._identity(issuer, claims), float(claims["exp"])

    def _identity(self, agency: str, claims: dict[str, Any]) -> Identity:
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise Unauthenticated("token exp and iat must be numbers")
        if exp - iat > self._max_ttl:
            raise Unauthenticated(f"token lifetime exceeds {self._max_ttl} seconds")
        sub = claims["sub"]
        if not isinstance(sub, str) or not _PSEUDO_RE.match(sub):
            raise Unauthenticated("token subject is not a pseudonymous person id")
        try:
            role = Role(claims["role"])
        except (ValueError, TypeError):
            raise Unauthenticated(f"token role {claims['role']!r} is not a known role") from None
        raw_cases = claims.get("cases", [])
        if not isinstance(raw_cases, list) or not all(
            isinstance(c, str) and _PSEUDO_RE.match(c) for c in raw_cases
        ):
            raise Unauthenticated("token cases must be a list of case ids")
        return Identity(agency=agency, role=role, person_id=sub, cases=frozenset(raw_cases))


_default: TokenVerifier | None = None
_default_lock = threading.Lock()


def default_verifier() -> TokenVerifier:
    """The process-wide verifier, built from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TokenVerifier(keys_from_env())
        return _default


def reset_default_verifier(verifier: TokenVerifier | None = None) -> None:
    """Replace (or, with None, forget) the process-wide verifier; for tests and key reloads."""
    global _default
    with _default_lock:
        _default = verifier


def verify_token(token: str) -> Identity:
    """Verify a bearer token with the process-wide verifier; raises Unauthenticated."""
    return default_verifier().verify(token)


async def require_identity(
    authorization: Annotated[str | None, Header()] = None,
) -> Identity:
    """FastAPI dependency: the verified identity from `Authorization: Bearer <token>`.
    Raises errors.Unauthenticated (HTTP 401 through the app's MendError handler)."""
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return verify_token(token.strip())
