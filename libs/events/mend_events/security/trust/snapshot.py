"""An immutable copy of one schema's trust tables, and the per-request decision made with it.

Holding it in process keeps the check off the database: a request costs a few dict lookups.
`TrustView` swaps in a new snapshot whenever the tables change (NOTIFY), so a suspension, a
deactivation, a key retirement or a reallocation applies to the next request of every instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.hub import ENROLLED_ROLES
from mend_events.errors import Forbidden, Unauthenticated
from mend_events.rules import RulePack, in_force
from mend_events.security.principal import Identity
from mend_events.security.public_keys import PublicKey


@dataclass(frozen=True, slots=True)
class Provider:
    """An agency's OpenID Connect provider, as `AgencyIdentityProviderSet` registered it."""

    agency: str
    issuer: str
    jwks_url: str
    audience: str
    role_claim: str
    subject_claim: str


@dataclass(frozen=True, slots=True)
class AgencyTrust:
    agency: str
    suspended: bool
    sign_in: str  # local | oidc


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key: PublicKey
    retired_at: datetime | None

    def retired(self, now: datetime) -> bool:
        return self.retired_at is not None and now >= self.retired_at


@dataclass(frozen=True, slots=True)
class StaffTrust:
    role: Role
    active: bool


@dataclass(frozen=True, slots=True)
class TrustSnapshot:
    version: int = 0
    agencies: Mapping[str, AgencyTrust] = field(default_factory=dict)
    providers: Mapping[str, Provider] = field(default_factory=dict)  # by issuer URL
    keys: Mapping[tuple[str, str], TrustedKey] = field(default_factory=dict)  # (agency, kid)
    staff: Mapping[tuple[str, str], StaffTrust] = field(default_factory=dict)  # (agency, person)
    # (agency, practitioner) -> the case ids allocated to them now
    allocations: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # (agency, volunteer) -> case -> (their part, the last day the allocation is current)
    parts: Mapping[tuple[str, str], Mapping[str, tuple[str, date]]] = field(default_factory=dict)
    # agency -> its rule pack adoptions, ((since, pack ref), ...) oldest first
    rule_packs: Mapping[str, tuple[tuple[datetime, str], ...]] = field(default_factory=dict)
    keyed: frozenset[str] = field(init=False, default=frozenset())  # agencies with hub keys

    def __post_init__(self) -> None:
        object.__setattr__(self, "keyed", frozenset(a for a, _ in self.keys))

    def provider(self, issuer: str) -> Provider | None:
        return self.providers.get(issuer)

    def key(self, agency: str, kid: str) -> TrustedKey | None:
        return self.keys.get((agency, kid))

    def has_keys(self, agency: str) -> bool:
        return agency in self.keyed

    def cases_of(self, agency: str, person_id: str) -> frozenset[str]:
        return self.allocations.get((agency, person_id), frozenset())

    def rule_pack(self, agency: str, at: datetime) -> RulePack:
        """The rule pack in force for `agency` at `at` (the default before any adoption)."""
        return in_force(self.rule_packs.get(agency, ()), at)

    def admit(
        self, identity: Identity, *, kid: str | None = None, now: datetime | None = None
    ) -> Identity:
        """The caller as the trust model knows them now, or a refusal: 401 for a key retired
        since the token was verified, 403 for a suspended agency, a deactivated person, or a
        staff role the person is not enrolled in at a hub agency. The caller's cases are their
        current allocations, never a claim of the token."""
        agency = self.agencies.get(identity.agency)
        if kid is not None:
            trusted = self.key(identity.agency, kid)
            if trusted is not None and trusted.retired_at is not None:
                if trusted.retired(now or datetime.now(UTC)):
                    raise Unauthenticated("token signed with a key retired by the agency")
        if agency is not None:
            # A suspension stops the agency's staff, never a participant's own word: a
            # withdrawal or a halt must get through whatever happens to the agency (R2, R3).
            if agency.suspended and identity.role not in PARTICIPANT_ROLES:
                raise Forbidden("the token's agency is suspended")
            if identity.role in ENROLLED_ROLES:
                staff = self.staff.get((identity.agency, identity.person_id))
                if staff is None:
                    raise Forbidden("not enrolled as staff of the token's agency")
                if not staff.active:
                    raise Forbidden("this person's account is deactivated")
                if staff.role != identity.role:
                    raise Forbidden(f"enrolled as {staff.role}, not in the role the token claims")
        cases = self.cases_of(identity.agency, identity.person_id)
        if identity.role != Role.VOLUNTEER:
            return Identity(identity.agency, identity.role, identity.person_id, cases)
        # A volunteer's cases are those whose allocation is current today (its vetting and
        # training not lapsed), each with their part: the rest of a case stays closed to them.
        today = (now or datetime.now(UTC)).date()
        held = self.parts.get((identity.agency, identity.person_id), {})
        parts = frozenset(
            (case, part) for case, (part, until) in held.items() if until is None or until >= today
        )
        cases = frozenset(case for case, _ in parts)
        return Identity(identity.agency, identity.role, identity.person_id, cases, parts)
