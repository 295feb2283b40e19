"""The hub's records and their folds. Three kinds of stream, one state each:

- `agency:<agency>`: the agency (name, how its staff sign in, its token keys with their
  retirement times, its identity provider, whether it is suspended);
- `staff:<person>`: a member of staff (agency, role, qualifications, active or not);
- the case id: the case's allocations (who is allocated now, and since when).

`evolve` never raises for a stored event: a replay always folds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    AGENCY_STREAM,
    STAFF_STREAM,
    AgencyIdentityProviderSet,
    AgencyKeyAdded,
    AgencyKeyRetired,
    AgencyOnboarded,
    AgencyReinstated,
    AgencySharingKeySet,
    AgencySuspended,
    AllocationReason,
    CaseAllocated,
    CaseDeallocated,
    RulePackAdopted,
    SignIn,
    StaffDeactivated,
    StaffEnrolled,
    StaffQualificationsRecorded,
    StaffReactivated,
    SuspensionReason,
    VolunteerAllocated,
    VolunteerDeallocated,
    VolunteerPart,
    VolunteerTrained,
    VolunteerVetted,
)
from mend_events.contracts.catalog.sessions import Specialism
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent

# ---- agencies ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgencyKey:
    kid: str
    public_key_pem: str
    added_at: datetime
    retired_at: datetime | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.retired_at is None or moment < self.retired_at


@dataclass(frozen=True, slots=True)
class AgencyState:
    agency_id: str
    onboarded: bool = False
    name: str = ""
    sign_in: SignIn = SignIn.LOCAL
    timezone: str = "UTC"  # its participants' reminder hours' clock by default
    keys: tuple[AgencyKey, ...] = ()
    # The last provider set: the event itself (issuer, JWKS URL, audience, claims).
    identity_provider: AgencyIdentityProviderSet | None = None
    suspended: SuspensionReason | None = None
    rule_pack: str | None = None  # the pack adopted last (`id@version`), None: the default
    # Sharing keys in the order set; the last one is current (issue 18).
    sharing_keys: tuple[AgencySharingKeySet, ...] = ()

    @property
    def active(self) -> bool:
        """Onboarded and not suspended: its staff may act."""
        return self.onboarded and self.suspended is None

    def key(self, kid: str) -> AgencyKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def unretired_keys(self) -> tuple[AgencyKey, ...]:
        """Keys with no retirement recorded (a key retiring later is on its way out)."""
        return tuple(k for k in self.keys if k.retired_at is None)


def _evolve_agency(state: AgencyState, event: DomainEvent, meta: Metadata) -> AgencyState:
    if isinstance(event, AgencyOnboarded):
        return replace(state, onboarded=True, name=event.name, sign_in=event.sign_in,
                       timezone=event.timezone or "UTC")  # fmt: skip
    if isinstance(event, AgencyKeyAdded):
        key = AgencyKey(event.kid, event.public_key_pem, meta.occurred_at)
        return replace(state, keys=(*state.keys, key))
    if isinstance(event, AgencyKeyRetired):
        keys = tuple(
            replace(k, retired_at=event.retired_at) if k.kid == event.kid else k for k in state.keys
        )
        return replace(state, keys=keys)
    if isinstance(event, AgencyIdentityProviderSet):
        return replace(state, identity_provider=event)
    if isinstance(event, AgencySharingKeySet):
        return replace(state, sharing_keys=(*state.sharing_keys, event))
    if isinstance(event, AgencySuspended):
        return replace(state, suspended=event.reason)
    if isinstance(event, AgencyReinstated):
        return replace(state, suspended=None)
    if isinstance(event, RulePackAdopted):
        return replace(state, rule_pack=event.ref)
    return state


# ---- staff ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Qualifications:
    rj_trained: bool
    sexual_harm_trained: bool
    level: int
    specialisms: tuple[Specialism, ...] = ()


@dataclass(frozen=True, slots=True)
class StaffState:
    person_id: str
    agency_id: str | None = None  # None: never enrolled
    role: Role | None = None
    active: bool = False
    qualifications: Qualifications | None = None
    enrolled_at: datetime | None = None
    # A volunteer's vetting checks and courses, the latest record of each (issue 21).
    vetting: tuple[VolunteerVetted, ...] = ()
    training: tuple[VolunteerTrained, ...] = ()

    @property
    def enrolled(self) -> bool:
        return self.agency_id is not None


def _evolve_staff(state: StaffState, event: DomainEvent, meta: Metadata) -> StaffState:
    if isinstance(event, StaffEnrolled):
        return replace(
            state,
            agency_id=event.agency_id,
            role=Role(event.role),
            active=True,
            enrolled_at=meta.occurred_at,
        )
    if isinstance(event, StaffQualificationsRecorded):
        found = Qualifications(
            event.rj_trained, event.sexual_harm_trained, event.level, tuple(event.specialisms)
        )
        return replace(state, qualifications=found)
    if isinstance(event, VolunteerVetted):
        kept = tuple(v for v in state.vetting if v.check != event.check)
        return replace(state, vetting=(*kept, event))
    if isinstance(event, VolunteerTrained):
        kept_courses = tuple(t for t in state.training if t.course != event.course)
        return replace(state, training=(*kept_courses, event))
    if isinstance(event, StaffDeactivated):
        return replace(state, active=False)
    if isinstance(event, StaffReactivated):
        return replace(state, active=True)
    return state


# ---- allocations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allocation:
    practitioner_id: str
    since: datetime
    reason: AllocationReason
    by: str  # who allocated (the envelope's actor)


@dataclass(frozen=True, slots=True)
class VolunteerAllocation:
    volunteer_id: str
    part: VolunteerPart
    since: datetime
    valid_until: date
    reason: AllocationReason
    by: str


@dataclass(frozen=True, slots=True)
class CaseAllocations:
    case_id: str
    agency_id: str | None = None  # fixed by the first allocation (the case's agency)
    current: tuple[Allocation, ...] = field(default_factory=tuple)
    volunteers: tuple[VolunteerAllocation, ...] = field(default_factory=tuple)

    def allocated(self, practitioner_id: str) -> bool:
        return any(a.practitioner_id == practitioner_id for a in self.current)

    def volunteer(self, volunteer_id: str) -> VolunteerAllocation | None:
        return next((v for v in self.volunteers if v.volunteer_id == volunteer_id), None)


def _evolve_case(state: CaseAllocations, event: DomainEvent, meta: Metadata) -> CaseAllocations:
    if isinstance(event, CaseAllocated):
        new = Allocation(event.practitioner_id, meta.occurred_at, event.reason, meta.actor_id)
        return replace(
            state, agency_id=state.agency_id or event.agency_id, current=(*state.current, new)
        )
    if isinstance(event, CaseDeallocated):
        kept = tuple(a for a in state.current if a.practitioner_id != event.practitioner_id)
        return replace(state, current=kept)
    if isinstance(event, VolunteerAllocated):
        others = tuple(v for v in state.volunteers if v.volunteer_id != event.volunteer_id)
        new_v = VolunteerAllocation(event.volunteer_id, event.part, meta.occurred_at,
                                    event.valid_until, event.reason, meta.actor_id)  # fmt: skip
        return replace(state, agency_id=state.agency_id or event.agency_id,
                       volunteers=(*others, new_v))  # fmt: skip
    if isinstance(event, VolunteerDeallocated):
        left = tuple(v for v in state.volunteers if v.volunteer_id != event.volunteer_id)
        return replace(state, volunteers=left)
    return state


# ---- one fold for the three kinds of stream ---------------------------------------------------

HubState = AgencyState | StaffState | CaseAllocations


def initial(stream_id: str) -> HubState:
    if stream_id.startswith(AGENCY_STREAM):
        return AgencyState(stream_id.removeprefix(AGENCY_STREAM))
    if stream_id.startswith(STAFF_STREAM):
        return StaffState(stream_id.removeprefix(STAFF_STREAM))
    return CaseAllocations(stream_id)


def evolve(state: HubState, event: DomainEvent, meta: Metadata) -> HubState:
    if isinstance(state, AgencyState):
        return _evolve_agency(state, event, meta)
    if isinstance(state, StaffState):
        return _evolve_staff(state, event, meta)
    return _evolve_case(state, event, meta)
