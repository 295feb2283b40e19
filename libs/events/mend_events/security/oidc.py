"""Tokens of an agency's own OpenID Connect provider: verified with the keys the provider
publishes at its JWKS URL (PyJWT's `PyJWKClient`, keys cached), mapped to Mend's identity by the
agency's registration (`AgencyIdentityProviderSet`, kept in the trust model): the agency is the
one that registered the issuer, the role is the `role_claim`, the pseudonymous person id the
`subject_claim` (which must be a pseudonymous id: a provider's own subject, often an e-mail
address or a stable internal id, is never taken in its place).

Blocking (the JWKS fetch): `identity.TokenVerifier` runs it off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from mend_events.app.settings import is_production
from mend_events.contracts.actors import Role
from mend_events.errors import Unauthenticated, Unavailable
from mend_events.security.principal import PSEUDO_RE, Identity
from mend_events.security.trust.snapshot import Provider

# The JWK types a provider's signing keys may have, and the algorithms each may verify: the
# algorithm is the JWK's (its `alg`, else its type's), never the token's choice.
_ALLOWED = {
    "OKP": {"EdDSA"},
    "EC": {"ES256", "ES384", "ES512"},
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
}
JWKS_TIMEOUT_S = 5.0
JWKS_LIFESPAN_S = 300.0


def require_secure(provider: Provider, environ: Mapping[str, str] | None = None) -> None:
    """In production a provider's issuer and JWKS must be https: keys fetched over plain http
    could be swapped on the way, and every token of the agency forged with them."""
    urls = (provider.issuer, provider.jwks_url)
    if is_production(environ) and not all(u.startswith("https://") for u in urls):
        raise Unauthenticated(
            "MEND_ENV=production refuses an identity provider whose issuer or JWKS is not https"
        )


def jwks_client(provider: Provider) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(
        provider.jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN_S, timeout=JWKS_TIMEOUT_S
    )


def verify(
    token: str, provider: Provider, client: jwt.PyJWKClient, *, leeway: int, max_ttl: int
) -> tuple[Identity, float]:
    """(identity, expiry) of a token `provider` issued; raises Unauthenticated."""
    try:
        alg = jwt.get_unverified_header(token).get("alg")
        signing = client.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        # The provider is down or slow: not the caller's fault, and worth asking again.
        raise Unavailable("the identity provider's keys could not be fetched") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the token's key is not one of its identity provider's") from None
    allowed = _ALLOWED.get(signing.key_type, set())
    expected = signing.algorithm_name
    if expected not in allowed or alg != expected:
        raise Unauthenticated("token algorithm does not match its provider's key")
    try:
        claims = jwt.decode(
            token,
            signing.key,
            algorithms=[expected],
            audience=provider.audience,
            issuer=provider.issuer,
            leeway=leeway,
            options={"require": ["iss", "aud", "exp", "iat"], "verify_sub": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated(f"token audience is not {provider.audience!r}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"token lacks the {exc.claim!r} claim") from None
    except jwt.PyJWTError:
        raise Unauthenticated("token does not verify with its identity provider's key") from None
    return _identity(provider, claims, max_ttl), float(claims["exp"])


def _identity(provider: Provider, claims: dict[str, Any], max_ttl: int) -> Identity:
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise Unauthenticated("token exp and iat must be numbers")
    if exp - iat > max_ttl:
        raise Unauthenticated(f"token lifetime exceeds {max_ttl} seconds")
    person = claims.get(provider.subject_claim)
    if not isinstance(person, str) or not PSEUDO_RE.match(person):
        raise Unauthenticated(
            f"token claim {provider.subject_claim!r} is not a pseudonymous person id"
        )
    try:
        role = Role(claims.get(provider.role_claim))
    except (ValueError, TypeError):
        raise Unauthenticated(f"token claim {provider.role_claim!r} is not a known role") from None
    return Identity(agency=provider.agency, role=role, person_id=person)
