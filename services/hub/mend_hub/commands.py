"""The hub's commands: the request bodies (pydantic, strict: a bad field is a 422 naming it) and
the domain commands the service builds from them, with the facts it read at the moment of
deciding (a practitioner's standing, the time a key retires). The actor is never in a body: it
comes from the verified token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from mend_events import rules
from mend_events.contracts.actors import AgencyId, PseudoId, Role
from mend_events.contracts.catalog.hub import (
    AgencyName,
    AllocationReason,
    ClaimName,
    DeactivationReason,
    HttpsUrl,
    KeyId,
    SharingPublicKey,
    SignIn,
    SuspensionReason,
    VettingCheck,
    VettingOutcome,
    VolunteerCourse,
    VolunteerPart,
)
from mend_events.contracts.catalog.sessions import Specialism
from mend_events.web.inputs import Moment
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from mend_hub.zones import KnownZone

if TYPE_CHECKING:
    from mend_hub.domain.state import StaffState


def _ed25519_public_key(pem: str) -> str:
    """An Ed25519 public key in PEM (SubjectPublicKeyInfo): the only kind the hub takes, so an
    agency's tokens are always EdDSA. The error names the rule, never the value."""
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeError):
        raise ValueError("must be a public key in PEM (SubjectPublicKeyInfo)") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("must be an Ed25519 public key")
    return pem.strip() + "\n"


PublicKeyPem = Annotated[
    str, StringConstraints(min_length=40, max_length=4000), AfterValidator(_ed25519_public_key)
]
Audience = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- agencies ---------------------------------------------------------------------------------


class AgencyKey(_Body):
    kid: KeyId
    public_key_pem: PublicKeyPem


class SetSharingKey(_Body):
    """The agency's X25519 public key for what partners receive (raw, unpadded base64url)."""

    kid: KeyId
    public_key: SharingPublicKey


class IdentityProvider(_Body):
    issuer: HttpsUrl
    jwks_url: HttpsUrl
    audience: Audience = "mend"
    role_claim: ClaimName = "mend_role"
    subject_claim: ClaimName = "mend_pid"


class OnboardAgency(_Body):
    agency_id: AgencyId
    name: AgencyName
    sign_in: SignIn = SignIn.LOCAL
    keys: tuple[AgencyKey, ...] = Field(default=(), max_length=10)
    identity_provider: IdentityProvider | None = None
    timezone: KnownZone | None = None


class AddAgencyKey(AgencyKey):
    pass


class RetireKeyBody(_Body):
    # From this moment on the key's tokens are refused; by default now. A later moment lets
    # the old and the new key overlap while tokens signed with the old one expire.
    retired_at: Moment | None = None


@dataclass(frozen=True, slots=True)
class RetireAgencyKey:
    kid: str
    retired_at: datetime | None = None  # None: now (the command context's clock)


class SetIdentityProvider(IdentityProvider):
    pass


class SuspendAgency(_Body):
    reason: SuspensionReason


@dataclass(frozen=True, slots=True)
class ReinstateAgency:
    pass


class AdoptRulePack(_Body):
    """A rule pack version shipped with Mend (`python -m mend_events.rules list`)."""

    pack_id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
    version: int = Field(ge=1, le=999_999)

    @field_validator("version")
    @classmethod
    def _shipped(cls, version: int, info: ValidationInfo) -> int:
        pack_id = info.data.get("pack_id")  # absent when the pack id itself is invalid
        if pack_id is not None and (pack_id, version) not in rules.available():
            raise ValueError("no such rule pack version is shipped")
        return version


# ---- staff ------------------------------------------------------------------------------------


class EnrolBody(_Body):
    person_id: PseudoId
    role: Role = Field(description="coordinator, practitioner, auditor, operator or volunteer")


@dataclass(frozen=True, slots=True)
class EnrolStaff:
    agency_id: str
    person_id: str
    role: Role


class QualificationsBody(_Body):
    rj_trained: bool
    sexual_harm_trained: bool
    level: int = Field(ge=1, le=3)
    specialisms: tuple[Specialism, ...] = Field(default=(), max_length=4)


@dataclass(frozen=True, slots=True)
class RecordQualifications:
    agency_id: str
    rj_trained: bool
    sexual_harm_trained: bool
    level: int
    specialisms: tuple[Specialism, ...] = ()


class DeactivateBody(_Body):
    reason: DeactivationReason


@dataclass(frozen=True, slots=True)
class DeactivateStaff:
    agency_id: str
    reason: DeactivationReason


@dataclass(frozen=True, slots=True)
class ReactivateStaff:
    agency_id: str


# ---- allocations ------------------------------------------------------------------------------


class AllocateBody(_Body):
    practitioner_id: PseudoId
    reason: AllocationReason = AllocationReason.NEW_CASE


class DeallocateBody(_Body):
    reason: AllocationReason


class ReallocateBody(_Body):
    from_practitioner_id: PseudoId
    to_practitioner_id: PseudoId
    reason: AllocationReason


@dataclass(frozen=True, slots=True)
class Standing:
    """What the hub knows of a person at the moment of deciding: their agency, role, whether
    they are active, and whether their agency is (onboarded and not suspended)."""

    person_id: str
    agency_id: str
    role: Role
    active: bool
    agency_active: bool


@dataclass(frozen=True, slots=True)
class AllocateCase:
    agency_id: str  # the case's agency, from its opening (the case directory)
    practitioner_id: str
    reason: AllocationReason
    practitioner: Standing | None  # None: not enrolled in the hub


@dataclass(frozen=True, slots=True)
class DeallocateCase:
    agency_id: str
    practitioner_id: str
    reason: AllocationReason
    # The hub ending a deactivated person's allocations: nothing to do where none is left.
    only_if_allocated: bool = False


@dataclass(frozen=True, slots=True)
class ReallocateCase:
    agency_id: str
    from_practitioner_id: str
    to_practitioner_id: str
    reason: AllocationReason
    to: Standing | None


# ---- community volunteers (issue 21) ----------------------------------------------------------


class VettingBody(_Body):
    check: VettingCheck
    outcome: VettingOutcome
    checked_on: date
    valid_until: date


@dataclass(frozen=True, slots=True)
class RecordVetting:
    agency_id: str
    check: VettingCheck
    outcome: VettingOutcome
    checked_on: date
    valid_until: date


class TrainingBody(_Body):
    course: VolunteerCourse
    completed_on: date
    valid_until: date | None = None  # None: the course does not lapse


@dataclass(frozen=True, slots=True)
class RecordTraining:
    agency_id: str
    course: VolunteerCourse
    completed_on: date
    valid_until: date | None = None


class VolunteerAllocateBody(_Body):
    volunteer_id: PseudoId
    part: VolunteerPart
    reason: AllocationReason = AllocationReason.NEW_CASE


@dataclass(frozen=True, slots=True)
class AllocateVolunteer:
    agency_id: str  # the case's agency, from its opening
    volunteer_id: str
    part: VolunteerPart
    reason: AllocationReason
    standing: Standing | None  # None: not enrolled in the hub
    record: StaffState | None  # their vetting and training, read at the moment of deciding


@dataclass(frozen=True, slots=True)
class DeallocateVolunteer:
    agency_id: str
    volunteer_id: str
    reason: AllocationReason
    only_if_allocated: bool = False  # the hub ending them itself
