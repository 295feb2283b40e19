"""Decisions about the case itself, all the harmed person's to make: opening, facilitator,
preferences, pace (pause and resume) and closing."""

from __future__ import annotations

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import (
    CaseClosed,
    CaseOpened,
    CasePaused,
    CaseResumed,
    CloseReason,
    FacilitatorChosen,
    HaltCause,
    InvitationRecorded,
    ParticipantEnrolled,
    ParticipantRole,
    PauseReason,
    PreferencesSet,
    Route,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.contact import halted, in_order
from mend_sessions.domain.guards import harmed_person_only, is_harmed_person, require_open
from mend_sessions.domain.letters import stopped
from mend_sessions.domain.meetings import cancelled
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import CaseState, CaseStatus, preferences_of

PRACTITIONER_PAUSES = frozenset({PauseReason.OTHER_LEGAL_PROCEEDINGS})
PRACTITIONER_CLOSES = frozenset({CloseReason.NOT_SUITABLE, CloseReason.TOO_RISKY})
REFERRER_ROLES = frozenset(
    {Role.PRACTITIONER, Role.COORDINATOR, Role.SUPPORTER, Role.INSTITUTION_REP}
)


def open_case(state: CaseState, cmd: c.OpenCase, ctx: CommandContext) -> list[DomainEvent]:
    actor = ctx.actor
    if actor.role == Role.HARMED_PERSON:
        if cmd.route != Route.SELF_REFERRAL:
            raise Rejected("a harmed person opening their own case self-refers", field="route")
        if cmd.harmed_person_id not in (None, actor.id):
            raise Forbidden("nobody opens a case on another person's behalf")
        harmed = actor.id
    elif actor.role in (Role.PRACTITIONER, Role.COORDINATOR):
        if cmd.route != Route.AGENCY_ON_REQUEST or cmd.harmed_person_id is None:
            raise Rejected(
                "an agency opens a case only on the harmed person's request: route "
                "agency_on_request with their id; otherwise record an invitation",
                field="route",
            )
        harmed = cmd.harmed_person_id
    else:
        # The responsible person and everyone else: in sexual-harm cases only the harmed person
        # starts the process. Others may record an invitation, which obliges nobody.
        raise Forbidden("only the harmed person can open a case (others may record an invitation)")
    event = CaseOpened(
        harm_category=cmd.harm_category,
        justice_stage=cmd.justice_stage,
        agency=actor.agency,
        harmed_person_id=harmed,
        route=cmd.route,
    )
    if state.status == CaseStatus.OPEN and state.opened == event:
        return []
    if state.status in (CaseStatus.OPEN, CaseStatus.CLOSED):
        raise Rejected(f"this case is already {state.status}")
    if state.invited and harmed not in state.invited:
        raise Rejected(
            "this case's invitation is addressed to someone else", field="harmed_person_id"
        )
    return [event]


def invite(state: CaseState, cmd: c.RecordInvitation, ctx: CommandContext) -> list[DomainEvent]:
    # A responsible person's wish for RJ is never a route to the harmed person (R1, R6).
    if ctx.actor.role not in REFERRER_ROLES:
        raise Forbidden("only an agency, a supporter or an institution may record an invitation")
    if state.status in (CaseStatus.OPEN, CaseStatus.CLOSED):
        raise Rejected(f"this case is already {state.status}: no invitation needed")
    if cmd.harmed_person_id in state.invited:
        return []
    return [InvitationRecorded(**cmd.model_dump())]


def enrol(state: CaseState, cmd: c.EnrolParticipant, ctx: CommandContext) -> list[DomainEvent]:
    """A person takes part only with the harmed person's agreement (R6): they invited the
    person in their preferences and, for the responsible person, chose that they take part.
    The case's practitioner or a coordinator of its agency records it."""
    require_open(state)
    if ctx.actor.role not in (Role.PRACTITIONER, Role.COORDINATOR):
        raise Forbidden("only the case's practitioner or a coordinator may enrol a participant")
    if cmd.role == ParticipantRole.HARMED_PERSON:
        raise Rejected("the harmed person takes part from the case's opening", field="role")
    known = state.members.get(cmd.person_id)
    if known == cmd.role:
        return []
    if known is not None:
        raise Rejected(f"this person already takes part as {known}", field="person_id")
    prefs = state.preferences
    if cmd.person_id not in prefs.invited:
        raise Rejected(
            "the harmed person has not invited this person (preferences: invited)",
            field="person_id",
        )
    if cmd.role == ParticipantRole.RESPONSIBLE_PERSON and not prefs.responsible_person_takes_part:
        raise Rejected(
            "the harmed person has not chosen that the responsible person takes part",
            field="role",
        )
    return [ParticipantEnrolled(person_id=cmd.person_id, role=cmd.role)]


def choose(
    state: CaseState,
    cmd: c.ChooseFacilitator,
    practitioner: Practitioner | None,
    ctx: CommandContext,
) -> list[DomainEvent]:
    """The harmed person chooses, and may change, at any time, among qualified practitioners."""
    require_open(state)
    harmed_person_only(state, ctx, "choose the facilitator")
    chosen = cmd.practitioner_id
    if practitioner is None or practitioner.id != chosen:
        # Never echo the client's value; the registry consulted is the case agency's.
        raise Rejected(
            "the chosen practitioner is not in the practitioner registry of the case's agency",
            field="practitioner_id",
        )
    gaps = practitioner.facilitation_gaps()
    if gaps:
        raise Rejected(
            f"the chosen practitioner may not facilitate: {'; '.join(gaps)}",
            field="practitioner_id",
        )
    if state.facilitator_id == chosen:
        return []
    return [FacilitatorChosen(practitioner_id=chosen)]


def prefer(state: CaseState, cmd: c.SetPreferences, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    harmed_person_only(state, ctx, "set preferences, the pace or the speaking order")
    event = PreferencesSet(
        min_gap_days=cmd.min_gap_days,
        permitted_forms=tuple(sorted(set(cmd.permitted_forms))),
        speaks_first=cmd.speaks_first,
        responsible_person_takes_part=cmd.responsible_person_takes_part,
        invited=tuple(sorted(set(cmd.invited))),
        progress_updates=cmd.progress_updates,
    )
    return [] if preferences_of(event) == state.preferences else [event]


def pause(state: CaseState, cmd: c.PauseCase, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    practitioner_may = ctx.actor.role == Role.PRACTITIONER and cmd.reason in PRACTITIONER_PAUSES
    if not (is_harmed_person(state, ctx) or practitioner_may):
        raise Forbidden(
            "only the harmed person may pause the case (a practitioner only for other legal "
            "proceedings)"
        )
    return [] if cmd.reason in state.paused_for else [CasePaused(reason=cmd.reason)]


def resume(state: CaseState, cmd: c.ResumeCase, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    # The harmed person's word lifts any pause; a practitioner lifts only their legal one.
    practitioner_may = (
        ctx.actor.role == Role.PRACTITIONER and state.paused_for <= PRACTITIONER_PAUSES
    )
    if not (is_harmed_person(state, ctx) or practitioner_may):
        raise Forbidden("only the harmed person may resume the case")
    return [CaseResumed()] if state.paused else []


def close(state: CaseState, cmd: c.CloseCase, ctx: CommandContext) -> list[DomainEvent]:
    if state.status != CaseStatus.CLOSED:
        require_open(state)
    if is_harmed_person(state, ctx):
        cause = HaltCause.PARTICIPANT_HALT
    elif ctx.actor.role == Role.PRACTITIONER and cmd.reason in PRACTITIONER_CLOSES:
        cause = HaltCause.PRACTITIONER_HALT
    else:
        raise Forbidden(
            "only the harmed person may close the case (a practitioner only as not suitable or "
            "too risky)"
        )
    if state.status == CaseStatus.CLOSED:
        return []
    # Nothing stays scheduled or running in a closed case: each is halted, on the record.
    active = [s for s in in_order(state.sessions.values()) if s.active]
    halts = [halted(s, cause, ctx.actor.id, ctx.actor.role) for s in active]
    off = cancelled(state, everything=True, cause=cause, by=ctx.actor.id)
    return [*halts, *stopped(state, active, cause, None), *off, CaseClosed(reason=cmd.reason)]
