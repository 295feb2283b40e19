"""Decisions about preparation and contact sessions: schedule and start through the gates (R4),
complete, halt (R3), react to lost consent or risk (R2, R5), and record an agreement."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.sessions import (
    AgreementReached,
    HaltCause,
    Participant,
    ParticipantRole,
    PreparationSessionHeld,
    SessionCompleted,
    SessionHalted,
    SessionScheduled,
    SessionStarted,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, GatesUnmet, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.gates import GateView, SessionRequest, evaluate_gates
from mend_sessions.domain.guards import (
    facilitator_only,
    find_session,
    is_harmed_person,
    practitioner_only,
    require_open,
)
from mend_sessions.domain.letters import stopped
from mend_sessions.domain.meetings import cancelled
from mend_sessions.domain.referrals import without_them
from mend_sessions.domain.state import CaseState, Session, SessionStatus

HP, RP = ParticipantRole.HARMED_PERSON, ParticipantRole.RESPONSIBLE_PERSON


def _check_parties(
    state: CaseState, participants: tuple[Participant, ...], field: str = "participants"
) -> None:
    """The two parties are who the case says they are, and nobody joins under another role
    (e.g. the responsible person listed as a supporter)."""
    for p in participants:
        known = state.role_of(p.id)
        if p.role == HP and p.id != state.harmed_person_id:
            raise Rejected(f"{p.id} is not this case's harmed person", field="participants")
        # Only the case's members take part, in the role they were enrolled in (R6: the
        # harmed person agreed to each of them).
        if state.members.get(p.id) != p.role:
            raise Rejected(
                f"{p.id} does not take part in this case as {p.role}: enrol them first",
                field=field,
            )
        if p.role == HP and p.id != state.harmed_person_id:
            raise Rejected(f"{p.id} is not this case's harmed person", field="participants")
        if known is not None and known != p.role:
            raise Rejected(f"{p.id} takes part in this case as {known}", field="participants")
        if p.role == RP and state.responsible_person_id not in (None, p.id):
            raise Rejected(f"{p.id} is not this case's responsible person", field="participants")
    if sum(p.role == RP for p in participants) > 1:
        raise Rejected("a session has at most one responsible person", field="participants")


def prepare(state: CaseState, cmd: c.RecordPreparation, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    practitioner_only(ctx, "record a preparation session")
    if state.paused:
        raise Rejected("the case is paused")
    _check_parties(state, (cmd.participant,), field="participant")
    if cmd.participant.role == RP and not state.preferences.responsible_person_takes_part:
        raise Rejected(
            "the harmed person has not chosen to involve the responsible person",
            field="participant",
        )
    return [PreparationSessionHeld(participant=cmd.participant)]


def _gates(state: CaseState, view: GateView, request: SessionRequest, ctx: CommandContext) -> None:
    unmet = evaluate_gates(state, view, request, ctx.now)
    if unmet:
        raise GatesUnmet(unmet)


def schedule(
    state: CaseState, cmd: c.ScheduleSession, view: GateView, ctx: CommandContext
) -> list[DomainEvent]:
    require_open(state)
    if not (is_harmed_person(state, ctx) or ctx.actor.role == Role.PRACTITIONER):
        raise Forbidden("only the harmed person or a practitioner may schedule a session")
    speaks_first = state.preferences.speaks_first
    ids = {p.id for p in cmd.participants}
    event = SessionScheduled(
        **cmd.model_dump(),
        speaks_first=speaks_first if speaks_first in ids else state.harmed_person_id,
        rule_pack=view.rule_pack,
    )
    existing = state.sessions.get(cmd.session_id)
    if existing is not None:
        if existing.active and _same_request(existing, cmd):
            return []  # a retry of the same request
        raise Rejected(
            "this session id is already used: schedule with a new id", field="session_id"
        )
    if cmd.scheduled_for < ctx.now:
        raise Rejected("a session cannot be scheduled in the past", field="scheduled_for")
    _check_parties(state, cmd.participants)
    without_them(state, [p.role for p in cmd.participants])
    if not any(p.role == HP for p in cmd.participants):
        raise Rejected("the harmed person takes part in every session", field="participants")
    request = SessionRequest(
        cmd.session_id, cmd.form, cmd.participants, cmd.facilitator_id, cmd.team, cmd.scheduled_for
    )
    _gates(state, view, request, ctx)
    return [event]


def _same_request(session: Session, cmd: c.ScheduleSession) -> bool:
    return (session.form, session.participants, session.facilitator_id, session.team) == (
        cmd.form,
        cmd.participants,
        cmd.facilitator_id,
        cmd.team,
    ) and session.scheduled_for == cmd.scheduled_for


def start(
    state: CaseState, cmd: c.StartSession, view: GateView, ctx: CommandContext
) -> list[DomainEvent]:
    session = find_session(state, cmd.session_id)
    facilitator_only(session, ctx, "start it")
    if session.status == SessionStatus.RUNNING:
        return []
    if session.status == SessionStatus.HALTED:
        raise Rejected("a halted session never resumes: schedule a new session", field="session_id")
    if session.status == SessionStatus.COMPLETED:
        raise Rejected("this session is already completed", field="session_id")
    require_open(state)
    without_them(state, [p.role for p in session.participants])
    _gates(state, view, SessionRequest.starting_now(session), ctx)
    return [SessionStarted(session_id=session.id, rule_pack=view.rule_pack)]


def complete(state: CaseState, cmd: c.CompleteSession, ctx: CommandContext) -> list[DomainEvent]:
    session = find_session(state, cmd.session_id)
    facilitator_only(session, ctx, "complete it")
    if session.status == SessionStatus.COMPLETED:
        return []
    if session.status != SessionStatus.RUNNING:
        raise Rejected(f"only a running session can complete; this one is {session.status}")
    return [SessionCompleted(session_id=session.id)]


# --- halting (R2, R3, R5) -------------------------------------------------------------------


def halt(state: CaseState, cmd: c.HaltSession, ctx: CommandContext) -> list[DomainEvent]:
    session = find_session(state, cmd.session_id)
    actor = ctx.actor
    if actor.role == Role.PRACTITIONER:
        cause = HaltCause.PRACTITIONER_HALT
    elif actor.id in session.participant_ids and actor.role in PARTICIPANT_ROLES:
        cause = HaltCause.PARTICIPANT_HALT
    else:
        raise Forbidden("only a participant of this session or a practitioner may halt it")
    if not session.active:
        return []  # already halted or completed: halting again changes nothing
    return [
        halted(session, cause, actor.id, actor.role),
        *stopped(state, [session], cause, None),
        *cancelled(state, sessions=[session], cause=cause, by=actor.id),
    ]


def halted(
    session: Session, cause: HaltCause, by: str | None, role: Role, because: UUID | None = None
) -> SessionHalted:
    return SessionHalted(
        session_id=session.id,
        halted_by_id=by,
        halted_by_role=role,
        cause=cause,
        cause_event_id=because,
    )


def react(
    state: CaseState,
    cmd: c.HaltSessionsDependingOnConsent | c.HaltSessionsForRisk,
    ctx: CommandContext,
) -> list[DomainEvent]:
    """Halt every scheduled or running session that depended on what was lost, naming the cause.
    A cause already acted on emits nothing (redelivery); a cause that affected nothing is
    deduplicated by the subscriber's inbox, since no event records it here."""
    if ctx.actor.role != Role.SYSTEM:
        raise Forbidden("reactions are issued by the service itself")
    if cmd.cause_event_id in state.handled_causes:
        return []
    person = getattr(cmd, "participant_id", None)
    only = getattr(cmd, "session_ids", None)
    forms = set(cmd.forms) if cmd.forms is not None else None
    affected = [
        s
        for s in in_order(state.sessions.values())
        if s.active
        and (forms is None or s.form in forms)
        and (person is None or person in s.participant_ids)
        and (only is None or s.id in only)
    ]
    halts = [halted(s, cmd.cause, None, Role.SYSTEM, cmd.cause_event_id) for s in affected]
    # Letters of those sessions not yet delivered never will be, and their meetings are off;
    # withdrawing from taking part also calls off the person's preparation meetings.
    off = cancelled(
        state, sessions=affected, person=person if forms is None else None, cause=cmd.cause,
        because=cmd.cause_event_id,
    )  # fmt: skip
    return [*halts, *stopped(state, affected, cmd.cause, cmd.cause_event_id), *off]


def in_order(sessions: Iterable[Session]) -> list[Session]:
    return sorted(sessions, key=lambda s: (s.scheduled_for, s.id))


# --- outcome ---------------------------------------------------------------------------------


def agree(state: CaseState, cmd: c.RecordAgreement, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    session = find_session(state, cmd.session_id)
    facilitator_only(session, ctx, "record its agreement")
    if session.status not in (SessionStatus.RUNNING, SessionStatus.COMPLETED):
        raise Rejected("an agreement is reached in a session that took place", field="session_id")
    present = session.participant_ids
    missing = sorted(present - set(cmd.consented_by))
    if missing:
        raise Rejected(
            f"every party present must consent; missing: {', '.join(missing)}", field="consented_by"
        )
    if set(cmd.consented_by) - present:
        raise Rejected(
            "only the session's participants consent to its agreement", field="consented_by"
        )
    if any(item.owner_id not in present for item in cmd.items):
        raise Rejected("each commitment belongs to a participant of the session", field="items")
    event = AgreementReached(
        session_id=session.id, items=cmd.items, consented_by=tuple(sorted(cmd.consented_by))
    )
    existing = state.agreements.get(session.id)
    if existing is not None:
        if existing == event:
            return []
        raise Rejected("an agreement was already reached in this session", field="session_id")
    return [event]
