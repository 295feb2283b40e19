"""Meetings: a preparation meeting with one party, or the meeting of a direct contact session,
each with its time (an instant and the zone it was arranged in), a channel kind, and the
safety plan's arrangements for it. Anyone of the meeting says whether they can attend, or calls
it off (no reason owed); a halt, a withdrawal of taking part or the case's closing cancels the
upcoming meetings that depended on it, naming the cause (R2, R3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.sessions import (
    HaltCause,
    MeetingArranged,
    MeetingAvailabilityGiven,
    MeetingCancelled,
    MeetingPurpose,
    Participant,
    ParticipantRole,
    SafetyArrangements,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.forms import DIRECT_CONTACT
from mend_sessions.domain.guards import find_session, is_harmed_person, require_open
from mend_sessions.domain.state import CaseState, Meeting, Session, SessionStatus

_ASKS = ("separate_arrival_departure", "breaks", "support_person_present")


@dataclass(frozen=True, slots=True)
class WithPlans:
    """An arrangement with the safety plans risk recorded for the case (person id -> what the
    plan asks of a meeting), read by the application layer; never from the request."""

    command: c.ArrangeMeeting
    plans: Mapping[str, SafetyArrangements]


def find_meeting(state: CaseState, meeting_id: str) -> Meeting:
    meeting = state.meetings.get(meeting_id)
    if meeting is None:
        raise NotFound(f"no meeting {meeting_id} in this case", field="meeting_id")
    return meeting


def unmet_arrangements(
    attendees: Iterable[str], plans: Mapping[str, SafetyArrangements], given: SafetyArrangements
) -> list[str]:
    """What the attendees' safety plans ask that the meeting's arrangements leave out."""
    return sorted(
        {ask for p in attendees if p in plans for ask in _ASKS if getattr(plans[p], ask)}
        - {ask for ask in _ASKS if getattr(given, ask)}
    )


def arrange(state: CaseState, wrapped: WithPlans, ctx: CommandContext) -> list[DomainEvent]:
    cmd, plans = wrapped.command, wrapped.plans
    require_open(state)
    if state.paused:
        raise Rejected("the case is paused: no meeting is arranged until it resumes")
    if cmd.meeting_id in state.meetings:
        raise Rejected("this meeting id is already used: arrange with a new id", field="meeting_id")
    if cmd.purpose == MeetingPurpose.PREPARATION:
        attendees, at, facilitator = _preparation(state, cmd, ctx), cmd.at, state.facilitator_id
        key_owner = cmd.with_id
    else:
        session = _contact(state, cmd, ctx, plans)
        attendees, at, facilitator = (
            session.participants,
            session.scheduled_for,
            session.facilitator_id,
        )
        key_owner = state.case_id
    if facilitator is None:
        raise Rejected("the harmed person has not chosen a facilitator yet")
    assert at is not None and key_owner is not None  # the command's shape checked both
    if at < ctx.now:
        raise Rejected("a meeting cannot be arranged in the past", field="at")
    return [
        MeetingArranged(
            meeting_id=cmd.meeting_id, purpose=cmd.purpose, session_id=cmd.session_id,
            attendees=attendees, facilitator_id=facilitator, at=at, timezone=cmd.timezone,
            channel=cmd.channel, arrangements=cmd.arrangements, key_owner=key_owner,
            place=cmd.place, arrangements_note=cmd.arrangements_note,
        )
    ]  # fmt: skip


def _preparation(
    state: CaseState, cmd: c.ArrangeMeeting, ctx: CommandContext
) -> tuple[Participant, ...]:
    """The facilitator's, with any party; the harmed person may arrange her own (R6)."""
    own = is_harmed_person(state, ctx) and cmd.with_id == ctx.actor.id
    if ctx.actor.role != Role.PRACTITIONER and not own:
        raise Forbidden("only a practitioner, or the harmed person for herself, arranges this")
    role = state.members.get(cmd.with_id or "")
    if role is None:
        raise Rejected("a preparation meeting is with a participant of this case", field="with_id")
    if role == ParticipantRole.RESPONSIBLE_PERSON and not (
        state.preferences.responsible_person_takes_part
    ):
        raise Rejected(
            "the harmed person has not chosen to involve the responsible person", field="with_id"
        )
    return (Participant(id=cmd.with_id or "", role=role),)


def _contact(
    state: CaseState, cmd: c.ArrangeMeeting, ctx: CommandContext,
    plans: Mapping[str, SafetyArrangements],
) -> Session:  # fmt: skip
    session = find_session(state, cmd.session_id or "")
    if ctx.actor.role != Role.PRACTITIONER or ctx.actor.id != session.facilitator_id:
        raise Forbidden("only the session's facilitator arranges its meeting")
    if session.status != SessionStatus.SCHEDULED:
        raise Rejected(f"only a scheduled session gets a meeting; this one is {session.status}",
                       field="session_id")  # fmt: skip
    if session.form not in DIRECT_CONTACT:
        raise Rejected("a written session has no meeting: letters pass through the facilitator",
                       field="session_id")  # fmt: skip
    if cmd.at is not None and cmd.at != session.scheduled_for:
        raise Rejected("a contact meeting is at its session's time", field="at")
    if any(m.upcoming and m.session_id == session.id for m in state.meetings.values()):
        raise Rejected("this session already has a meeting: cancel it first", field="session_id")
    # A safety plan is required before any direct contact, and the meeting honours it.
    if state.harmed_person_id not in plans:
        raise Rejected("no safety plan agreed with the harmed person before direct contact",
                       field="session_id")  # fmt: skip
    missing = unmet_arrangements(session.participant_ids, plans, cmd.arrangements)
    if missing:
        raise Rejected(f"the safety plan asks for: {', '.join(missing)}", field="arrangements")
    return session


def availability(
    state: CaseState, cmd: c.GiveAvailability, ctx: CommandContext
) -> list[DomainEvent]:
    meeting = find_meeting(state, cmd.meeting_id)
    actor = ctx.actor
    staff = actor.role == Role.PRACTITIONER and actor.id == meeting.arranged.facilitator_id
    attendee = actor.role in PARTICIPANT_ROLES and any(
        p.id == actor.id and str(p.role) == str(actor.role) for p in meeting.arranged.attendees
    )
    if not (staff or attendee):
        raise Forbidden("only someone this meeting is for says whether they can attend")
    if not meeting.upcoming:
        raise Rejected("this meeting was cancelled", field="meeting_id")
    if meeting.availability.get(actor.id) == cmd.available:
        return []
    return [
        MeetingAvailabilityGiven(meeting_id=meeting.id, person_id=actor.id, available=cmd.available)
    ]


def cancel(state: CaseState, cmd: c.CancelMeeting, ctx: CommandContext) -> list[DomainEvent]:
    meeting = find_meeting(state, cmd.meeting_id)
    actor = ctx.actor
    if actor.role == Role.PRACTITIONER:
        cause = HaltCause.PRACTITIONER_HALT
    elif actor.role in PARTICIPANT_ROLES and actor.id in meeting.people:
        cause = HaltCause.PARTICIPANT_HALT
    else:
        raise Forbidden("only someone this meeting is for, or a practitioner, calls it off")
    if not meeting.upcoming:
        return []
    return [MeetingCancelled(meeting_id=meeting.id, cause=cause, cancelled_by_id=actor.id)]


def cancelled(
    state: CaseState,
    *,
    sessions: Iterable[Session] = (),
    person: str | None = None,
    everything: bool = False,
    cause: HaltCause,
    because: UUID | None = None,
    by: str | None = None,
) -> list[DomainEvent]:
    """The upcoming meetings of the sessions being halted, and the preparation meetings of a
    person who withdrew from taking part (or every one, when the case closes), each once."""
    halted = {s.id for s in sessions}

    def depends(m: Meeting) -> bool:
        if everything or (m.session_id is not None and m.session_id in halted):
            return True
        return person is not None and m.session_id is None and person in m.people

    return [
        MeetingCancelled(meeting_id=m.id, cause=cause, cancelled_by_id=by, cause_event_id=because)
        for m in sorted(state.meetings.values(), key=lambda m: m.id)
        if m.upcoming and depends(m)
    ]
