"""The hub accepts the tokens it signed itself: a token whose `kid` names one of the hub's own
signing keys (not retired, here or by the hub's events) is verified with that key's public half,
for that key's agency only, and refused at once for a suspended agency or deactivated staff;
any other token goes to the process's verifier (development keys, an agency's own keys) and
is then held to the same staff standing. The services learn the hub's keys from
`AgencyKeyAdded`; the hub knows them already."""

from __future__ import annotations

import jwt
from fastapi import Request
from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.contracts.catalog.hub import ENROLLED_ROLES
from mend_events.errors import Forbidden, Unauthenticated
from mend_events.security.identity import Identity, TokenVerifier, require_identity
from mend_events.security.public_keys import StaticKeys

from mend_hub.signin.parts import Parts


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return token.strip()


async def identity_of(parts: Parts, request: Request, authorization: str) -> Identity:
    token = _bearer(authorization)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise Unauthenticated("malformed token") from None
    if isinstance(kid, str):
        async with parts.pool.acquire() as conn:
            row = await parts.keys.public_key(conn, kid)
        if row is not None:
            agency, pem = row
            standing = await parts.standing.agency(agency)
            if not standing.verifies(kid, parts.clock()):
                raise Unauthenticated("the token's signing key is retired")
            identity = TokenVerifier(StaticKeys({agency: pem})).verify(token)
            # Refused at once, not when the token runs out: a suspended agency, a deactivated
            # member of staff (the hub's own events, read now).
            # (A participant's token stands through a suspension: their withdrawal or halt must
            # get through whatever happens to the agency, R2 and R3.)
            suspended = not standing.active and identity.role not in PARTICIPANT_ROLES
            if suspended or not await _active(parts, identity):
                raise Unauthenticated("this account may not act now")
            return identity
    # Anything else as every route admits it (the process's verifier), and then the same
    # standing: staff act at the hub only as enrolled, active staff of the token's agency,
    # whoever signed the token (an agency's own identity provider vouches for the person, the
    # hub's events for their place in the agency).
    identity = await require_identity(request, authorization)
    if not await _active(parts, identity):
        raise Forbidden("not enrolled as active staff of the token's agency in this role")
    return identity


async def _active(parts: Parts, identity: Identity) -> bool:
    """Staff of an onboarded agency act only as its enrolled, active staff in the role they were
    enrolled in (the rule the services' trust model applies); staff of an agency the hub does
    not hold (the platform's operators) are left to the route's own rule."""
    if identity.role not in ENROLLED_ROLES:
        return True
    if not (await parts.standing.agency(identity.agency)).onboarded:
        return True
    staff = await parts.standing.staff(identity.person_id, identity.agency)
    return staff is not None and staff.active and staff.role == identity.role
