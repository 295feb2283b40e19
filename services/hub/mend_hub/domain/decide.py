"""The hub's decisions: pure functions of (state, command, context) -> new events, or a refusal
naming the field and the rule. One `decider` serves the three kinds of stream (state.py)."""

from __future__ import annotations

from dataclasses import asdict

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub as ev
from mend_events.contracts.catalog.hub import ENROLLED_ROLES, AllocationReason, SignIn
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected

from mend_hub import commands as c
from mend_hub.domain.state import (
    AgencyState,
    CaseAllocations,
    HubState,
    Qualifications,
    StaffState,
    evolve,
    initial,
)
from mend_hub.domain.volunteers import (
    decide_volunteer_allocation,
    record_training,
    record_vetting,
)

# ---- agencies ---------------------------------------------------------------------------------


def require_active_agency(state: AgencyState) -> AgencyState:
    """An agency whose staff may act: onboarded (else 404) and not suspended (else 403)."""
    if not state.onboarded:
        raise NotFound("no agency with this id is onboarded", field="agency_id")
    if state.suspended is not None:
        raise Forbidden("the agency is suspended", field="agency_id")
    return state


def _onboarded(state: AgencyState) -> AgencyState:
    if not state.onboarded:
        raise NotFound("no agency with this id is onboarded", field="agency_id")
    return state


def _idp_event(agency_id: str, idp: c.IdentityProvider) -> ev.AgencyIdentityProviderSet:
    return ev.AgencyIdentityProviderSet(agency_id=agency_id, **idp.model_dump())


def _onboard(state: AgencyState, cmd: c.OnboardAgency) -> list[DomainEvent]:
    if state.onboarded:
        raise Conflict("this agency is onboarded already", field="agency_id")
    kids = [k.kid for k in cmd.keys]
    if len(set(kids)) != len(kids):
        raise Conflict("two keys have the same kid", field="keys")
    if cmd.identity_provider is not None and cmd.sign_in is not SignIn.OIDC:
        raise Rejected(
            "an identity provider is for an agency whose staff sign in with OpenID Connect",
            field="identity_provider",
        )
    aid = cmd.agency_id
    return [
        ev.AgencyOnboarded(
            agency_id=aid, name=cmd.name, sign_in=cmd.sign_in, timezone=cmd.timezone
        ),
        *(
            ev.AgencyKeyAdded(agency_id=aid, kid=k.kid, public_key_pem=k.public_key_pem)
            for k in cmd.keys
        ),
        *([_idp_event(aid, cmd.identity_provider)] if cmd.identity_provider else []),
    ]


def _add_key(state: AgencyState, cmd: c.AddAgencyKey) -> list[DomainEvent]:
    if state.key(cmd.kid) is not None:  # a kid is never reused, even once retired
        raise Conflict("this agency has a key with this kid already", field="kid")
    pem = cmd.public_key_pem
    return [ev.AgencyKeyAdded(agency_id=state.agency_id, kid=cmd.kid, public_key_pem=pem)]


def _retire_key(state: AgencyState, cmd: c.RetireAgencyKey, ctx: CommandContext) -> list:
    key = state.key(cmd.kid)
    if key is None:
        raise NotFound("this agency has no key with this kid", field="kid")
    if key.retired_at is not None:
        raise Conflict("this key is retired already", field="kid")
    at = cmd.retired_at or ctx.now
    if at < ctx.now:
        raise Rejected(
            "a key cannot be retired in the past (tokens it signed were accepted)",
            field="retired_at",
        )
    if state.sign_in is SignIn.LOCAL and state.unretired_keys() == (key,):
        raise Rejected(
            "the last key of an agency that signs in locally cannot be retired: add its "
            "successor first",
            field="kid",
        )
    return [ev.AgencyKeyRetired(agency_id=state.agency_id, kid=cmd.kid, retired_at=at)]


def _set_idp(state: AgencyState, cmd: c.SetIdentityProvider) -> list[DomainEvent]:
    if state.sign_in is not SignIn.OIDC:
        raise Rejected(
            "this agency's staff sign in locally: it has no identity provider", field="sign_in"
        )
    wanted = _idp_event(state.agency_id, cmd)
    return [] if state.identity_provider == wanted else [wanted]


def _set_sharing_key(state: AgencyState, cmd: c.SetSharingKey) -> list[DomainEvent]:
    current = state.sharing_keys[-1] if state.sharing_keys else None
    if current is not None and (current.kid, current.public_key) == (cmd.kid, cmd.public_key):
        return []  # the same key again: already set
    if any(k.kid == cmd.kid for k in state.sharing_keys):
        raise Conflict("this agency had a sharing key with this kid already", field="kid")
    aid = state.agency_id
    return [ev.AgencySharingKeySet(agency_id=aid, kid=cmd.kid, public_key=cmd.public_key)]


def _decide_agency(state: AgencyState, cmd: object, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(cmd, c.OnboardAgency):
        return _onboard(state, cmd)
    _onboarded(state)
    if isinstance(cmd, c.AddAgencyKey):
        return _add_key(state, cmd)
    if isinstance(cmd, c.RetireAgencyKey):
        return _retire_key(state, cmd, ctx)
    if isinstance(cmd, c.SetIdentityProvider):
        return _set_idp(state, cmd)
    if isinstance(cmd, c.SetSharingKey):
        return _set_sharing_key(state, cmd)
    if isinstance(cmd, c.SuspendAgency):
        if state.suspended is not None:
            raise Conflict("this agency is suspended already", field="agency_id")
        return [ev.AgencySuspended(agency_id=state.agency_id, reason=cmd.reason)]
    if isinstance(cmd, c.AdoptRulePack):
        adopted = ev.RulePackAdopted(
            agency_id=state.agency_id, pack_id=cmd.pack_id, version=cmd.version
        )
        return [] if state.rule_pack == adopted.ref else [adopted]
    if isinstance(cmd, c.ReinstateAgency):
        if state.suspended is None:
            raise Conflict("this agency is not suspended", field="agency_id")
        return [ev.AgencyReinstated(agency_id=state.agency_id)]
    raise TypeError(f"not an agency command: {type(cmd).__name__}")


# ---- staff ------------------------------------------------------------------------------------


def _staff_of(state: StaffState, agency_id: str) -> StaffState:
    """The member of staff of `agency_id`; anyone else (another agency's, nobody) is the same
    404, so an agency learns nothing of another's staff."""
    if state.agency_id != agency_id:
        raise NotFound("no member of staff with this id in this agency", field="person_id")
    return state


def _enrol(state: StaffState, cmd: c.EnrolStaff) -> list[DomainEvent]:
    if cmd.role not in ENROLLED_ROLES:
        raise Rejected(
            "the hub enrols coordinators, practitioners, auditors, operators or volunteers",
            field="role",
        )
    if state.enrolled:
        if (state.agency_id, state.role, state.active) == (cmd.agency_id, cmd.role, True):
            return []  # enrolled already, as asked
        raise Conflict("this person is enrolled already", field="person_id")
    return [ev.StaffEnrolled(agency_id=cmd.agency_id, person_id=state.person_id, role=cmd.role)]


def _qualify(state: StaffState, cmd: c.RecordQualifications) -> list[DomainEvent]:
    _staff_of(state, cmd.agency_id)
    if state.role is not Role.PRACTITIONER:
        raise Rejected("only practitioners have qualifications recorded", field="person_id")
    if not state.active:
        raise Rejected("this practitioner is deactivated", field="person_id")
    found = Qualifications(
        cmd.rj_trained, cmd.sexual_harm_trained, cmd.level, tuple(sorted(set(cmd.specialisms)))
    )
    if state.qualifications == found:
        return []
    # The event's fields are the fold's Qualifications, one for one.
    return [
        ev.StaffQualificationsRecorded(
            agency_id=cmd.agency_id, person_id=state.person_id, **asdict(found)
        )
    ]


def _decide_staff(state: StaffState, cmd: object, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(cmd, c.EnrolStaff):
        return _enrol(state, cmd)
    if isinstance(cmd, c.RecordQualifications):
        return _qualify(state, cmd)
    if isinstance(cmd, c.RecordVetting):
        return record_vetting(_staff_of(state, cmd.agency_id), cmd, ctx)
    if isinstance(cmd, c.RecordTraining):
        return record_training(_staff_of(state, cmd.agency_id), cmd, ctx)
    if isinstance(cmd, c.DeactivateStaff):
        _staff_of(state, cmd.agency_id)
        if not state.active:
            raise Conflict("this member of staff is deactivated already", field="person_id")
        return [
            ev.StaffDeactivated(
                agency_id=cmd.agency_id, person_id=state.person_id, reason=cmd.reason
            )
        ]
    if isinstance(cmd, c.ReactivateStaff):
        _staff_of(state, cmd.agency_id)
        if state.active:
            raise Conflict("this member of staff is active", field="person_id")
        return [ev.StaffReactivated(agency_id=cmd.agency_id, person_id=state.person_id)]
    raise TypeError(f"not a staff command: {type(cmd).__name__}")


# ---- allocations ------------------------------------------------------------------------------


def _allocatable(standing: c.Standing | None, agency_id: str, field: str) -> None:
    """An active practitioner of the case's agency, whose agency is active."""
    if standing is None or standing.agency_id != agency_id:
        raise NotFound("no practitioner with this id in this agency", field=field)
    if standing.role is not Role.PRACTITIONER:
        raise Rejected("only a practitioner is allocated to a case", field=field)
    if not standing.active:
        raise Rejected("this practitioner is deactivated", field=field)
    if not standing.agency_active:
        raise Forbidden("the agency is suspended", field="agency_id")


_THE_HUBS_OWN = {AllocationReason.STAFF_DEACTIVATED, AllocationReason.VETTING_NOT_CLEAR}


def _by_hand(reason: AllocationReason, ctx: CommandContext) -> None:
    if reason in _THE_HUBS_OWN and ctx.actor.role is not Role.SYSTEM:
        raise Rejected(
            "this reason is the hub's own, when someone is deactivated or not cleared",
            field="reason",
        )


def _agency_of(state: CaseAllocations, agency_id: str) -> None:
    if state.agency_id is not None and state.agency_id != agency_id:
        raise Forbidden("this case belongs to another agency", field="case_id")


def _allocation(
    kind: type[ev.CaseAllocated] | type[ev.CaseDeallocated],
    cmd: c.AllocateCase | c.DeallocateCase | c.ReallocateCase,
    case: str,
    practitioner_id: str,
) -> DomainEvent:
    """One practitioner allocated to (or taken off) the case, for the command's reason."""
    return kind(
        agency_id=cmd.agency_id, case_id=case, practitioner_id=practitioner_id, reason=cmd.reason
    )


_VOLUNTEERS = c.AllocateVolunteer | c.DeallocateVolunteer


def _decide_case(state: CaseAllocations, cmd: object, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(cmd, c.AllocateCase | c.DeallocateCase | c.ReallocateCase | _VOLUNTEERS):
        _agency_of(state, cmd.agency_id)
        _by_hand(cmd.reason, ctx)
    if isinstance(cmd, _VOLUNTEERS):
        return decide_volunteer_allocation(state, cmd, ctx)
    case = state.case_id
    if isinstance(cmd, c.AllocateCase):
        _allocatable(cmd.practitioner, cmd.agency_id, "practitioner_id")
        if state.allocated(cmd.practitioner_id):
            return []
        return [_allocation(ev.CaseAllocated, cmd, case, cmd.practitioner_id)]
    if isinstance(cmd, c.DeallocateCase):
        if not state.allocated(cmd.practitioner_id):
            if cmd.only_if_allocated:
                return []
            raise Conflict(
                "this practitioner is not allocated to this case", field="practitioner_id"
            )
        return [_allocation(ev.CaseDeallocated, cmd, case, cmd.practitioner_id)]
    if isinstance(cmd, c.ReallocateCase):
        if cmd.from_practitioner_id == cmd.to_practitioner_id:
            raise Rejected("reallocation is to another practitioner", field="to_practitioner_id")
        if not state.allocated(cmd.from_practitioner_id):
            raise Conflict(
                "this practitioner is not allocated to this case", field="from_practitioner_id"
            )
        _allocatable(cmd.to, cmd.agency_id, "to_practitioner_id")
        if state.allocated(cmd.to_practitioner_id):
            raise Conflict(
                "this practitioner is allocated to this case already", field="to_practitioner_id"
            )
        return [
            _allocation(ev.CaseDeallocated, cmd, case, cmd.from_practitioner_id),
            _allocation(ev.CaseAllocated, cmd, case, cmd.to_practitioner_id),
        ]
    raise TypeError(f"not an allocation command: {type(cmd).__name__}")


# ---- one decider ------------------------------------------------------------------------------


def decide(state: HubState, cmd: object, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(state, AgencyState):
        return _decide_agency(state, cmd, ctx)
    if isinstance(state, StaffState):
        return _decide_staff(state, cmd, ctx)
    return _decide_case(state, cmd, ctx)


decider: Decider[HubState] = Decider(initial=initial, evolve=evolve, decide=decide)
