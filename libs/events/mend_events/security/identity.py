"""Who is asking: a signed token on every request, verified with the issuing agency's key, then
admitted by the trust model the hub's events keep in every service (`security/trust/`).

Tokens are JWTs signed with an asymmetric key of the agency (EdDSA / Ed25519 preferred; ECDSA
and RSA-PSS/RSA accepted when that agency's key is of that type). `none` and HS* are refused, and
the algorithm must match the key's type, so a public key can never serve as an HMAC secret.

Two kinds of issuer:
- an agency id (`iss` = agency): tokens the hub signs (claims `sub` pseudonymous person id,
  `role`, `aud` "mend", `exp`, `iat`; header `kid`). The key is the agency's key of that `kid` in
  the trust model; without one, the development keys (`public_keys.py`: `MEND_AGENCY_PUBLIC_KEYS`
  or `<agency>.pub.pem` in `MEND_KEYS_DIR`, written by `mend_testkit.devkeys`);
- an agency's OpenID Connect provider (`iss` = its registered issuer URL): `security/oidc.py`.

Verified tokens are cached (the same bytes verify the same way), but every request is admitted
afresh against the current trust snapshot (`TrustSnapshot.admit`): a suspension, a deactivation
or a key retirement refuses the next request even of a cached token. A practitioner's cases are
their allocations in the trust model; a `cases` claim in a token is ignored.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from fastapi import Header, Request

from mend_events.contracts.actors import Role
from mend_events.errors import Unauthenticated
from mend_events.security.principal import PSEUDO_RE, Identity
from mend_events.security.public_keys import AGENCY_RE, PublicKey, PublicKeySource, keys_from_env

if TYPE_CHECKING:
    from mend_events.security.trust.snapshot import TrustSnapshot

__all__ = [
    "AUDIENCE",
    "PSEUDO_RE",
    "Identity",
    "TokenVerifier",
    "default_verifier",
    "require_identity",
    "reset_default_verifier",
    "verify_token",
]

AUDIENCE = "mend"
MAX_TOKEN_BYTES = 8192
_REQUIRED_CLAIMS = ["iss", "sub", "role", "aud", "exp", "iat"]


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
        # signature, the expiry and the claims' shape are cached: whether the caller (and the
        # key) is still trusted is asked of the trust snapshot on every request.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._verified_size = 10_000
        self._jwks: dict[str, Any] = {}  # PyJWKClient per JWKS URL (keys cached there)

    def verify(self, token: str) -> Identity:
        """Verify with the development/static keys only (no trust model): tools and tests."""
        return self._cached(token) or self._remember(token, self._verify(token, None)).identity

    async def authenticate(self, token: str, trust: TrustSnapshot | None) -> Identity:
        """Verify `token` (agency-signed or from a registered OpenID Connect provider) and admit
        the caller by `trust` as it stands now. Raises Unauthenticated (401) or Forbidden (403)."""
        hit = self._cached(token, full=True)
        if hit is None:
            hit = self._remember(token, await self._verify_any(token, trust))
        if trust is None:
            return hit.identity
        if hit.issuer is not None:
            provider = trust.provider(hit.issuer)
            if provider is None or provider.agency != hit.identity.agency:
                raise Unauthenticated("unknown issuer: no agency registers this provider")
        elif not hit.by_trust_key and trust.has_keys(hit.identity.agency):
            # Verified before the hub published the agency's keys: from now on only those keys
            # count, so the token is checked again against them (a token they do not sign is
            # refused; one they do, e.g. signed just before the publication reached us, stands).
            del self._verified[token]
            hit = self._remember(token, self._verify(token, trust))
        return trust.admit(hit.identity, kid=hit.kid)

    def _cached(self, token: str, *, full: bool = False) -> Any:
        if not token:
            raise Unauthenticated("no token")
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("token too large")
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() <= hit.exp + self._leeway:
                return hit if full else hit.identity
            del self._verified[token]  # expired: the full check says so
        return None

    def _remember(self, token: str, verified: _Verified) -> _Verified:
        self._verified[token] = verified
        if len(self._verified) > self._verified_size:
            self._verified.popitem(last=False)
        return verified

    async def _verify_any(self, token: str, trust: TrustSnapshot | None) -> _Verified:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        if isinstance(issuer, str) and issuer.startswith(("https://", "http://")):
            provider = trust.provider(issuer) if trust is not None else None
            if provider is None:
                raise Unauthenticated("unknown issuer: no agency registers this provider")
            from mend_events.security import oidc

            oidc.require_secure(provider)  # before anything is fetched from it
            client = self._jwks.get(provider.jwks_url)
            if client is None:
                client = self._jwks.setdefault(provider.jwks_url, oidc.jwks_client(provider))
            # The provider's keys may have to be fetched: never on the event loop.
            identity, exp = await asyncio.to_thread(
                oidc.verify, token, provider, client, leeway=self._leeway, max_ttl=self._max_ttl
            )
            return _Verified(identity, exp, None, issuer, False)
        return self._verify(token, trust)

    def _verify(self, token: str, trust: TrustSnapshot | None) -> _Verified:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
            raise Unauthenticated(
                "token algorithm is refused: only asymmetric signatures are accepted"
            )
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or not AGENCY_RE.match(issuer):
            raise Unauthenticated("token has no valid issuer (iss must be an agency id)")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        key = self._key(issuer, kid, trust)
        if key is None:
            raise Unauthenticated("unknown issuer: no public key for this agency")
        algorithms = _algorithms_for(key)
        if alg not in algorithms:
            raise Unauthenticated(
                "token algorithm does not match its agency's key "
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
            raise Unauthenticated("token signature does not verify with its agency's key") from None
        except jwt.PyJWTError as exc:
            # The kind of error only: a library message may quote the token's own content.
            raise Unauthenticated(f"invalid token ({type(exc).__name__})") from None
        by_trust_key = trust is not None and trust.has_keys(issuer)
        identity = self._identity(issuer, claims)
        return _Verified(identity, float(claims["exp"]), kid, None, by_trust_key)

    def _key(self, agency: str, kid: str | None, trust: TrustSnapshot | None) -> PublicKey | None:
        """The agency's key of `kid` in the trust model; an agency whose keys the hub publishes
        is verified with those alone. Otherwise the development/static keys."""
        if trust is not None and trust.has_keys(agency):
            trusted = trust.key(agency, kid) if kid is not None else None
            if trusted is None:
                raise Unauthenticated("token key id is not one of agency's keys")
            return trusted.key
        return self._keys.public_key(agency)

    def _identity(self, agency: str, claims: dict[str, Any]) -> Identity:
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise Unauthenticated("token exp and iat must be numbers")
        if exp - iat > self._max_ttl:
            raise Unauthenticated(f"token lifetime exceeds {self._max_ttl} seconds")
        sub = claims["sub"]
        if not isinstance(sub, str) or not PSEUDO_RE.match(sub):
            raise Unauthenticated("token subject is not a pseudonymous person id")
        try:
            role = Role(claims["role"])
        except (ValueError, TypeError):
            raise Unauthenticated("token role is not a known role") from None
        # A `cases` claim is ignored: allocations come from the hub's events (trust model).
        return Identity(agency=agency, role=role, person_id=sub)


class _Verified(NamedTuple):
    identity: Identity
    exp: float
    kid: str | None  # the agency key that verified it (hub-signed tokens)
    issuer: str | None  # the OpenID Connect issuer URL (provider tokens)
    by_trust_key: bool  # verified with a key the hub published (else a development key)


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
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> Identity:
    """FastAPI dependency: the verified identity from `Authorization: Bearer <token>`, admitted
    by the app's trust model (`app.state.trust`, a TrustView) when it has one. Raises
    errors.Unauthenticated (401) or errors.Forbidden (403) through the MendError handler."""
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    view = getattr(request.app.state, "trust", None)
    trust = await view.current() if view is not None else None
    return await default_verifier().authenticate(token.strip(), trust)
