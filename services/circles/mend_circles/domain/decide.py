"""The circle's rules: `decide(state, command, ctx) -> events` (pure).

- Only a practitioner forms a circle, and is its facilitator; only the facilitator invites,
  schedules, records a meeting held, and closes.
- An invitation names a person by their role in their own case, which must be of the circle's
  agency and fit the circle's kind (ROLES_OF_KIND). It obliges nothing.
- Joining is the invited person's own act (R1: nobody joins on another's behalf), only with
  their consent for this circle in force; a responsible person also only while their
  acknowledgement stands (DOMAIN.md, roles: before any process that involves them).
- Anyone in the circle may halt a meeting, owing no reason; a halted meeting never resumes (R3).
- A member may leave at any moment (the facilitator may relay it); a consent that ends halts
  the participation at once, once (R2): a second cause finds nothing left to halt.
- A member who left or was halted comes back only through a new invitation and every gate.
"""

from __future__ import annotations

from uuid import UUID

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog import circles as ev
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected

from mend_circles import commands as c
from mend_circles.domain.state import CircleState, Meeting, MeetingStatus, Standing, evolve, initial


def _formed(state: CircleState) -> None:
    if not state.formed:
        raise NotFound("no circle with this id is known here", field="circle_id")


def _open(state: CircleState) -> None:
    _formed(state)
    if state.closed:
        raise Rejected("the circle is closed", field="circle_id")


def _facilitator(state: CircleState, ctx: CommandContext) -> None:
    actor = ctx.actor
    if actor.role is not Role.PRACTITIONER or actor.id != state.facilitator_id:
        raise Forbidden("only the circle's facilitator may do this")


def _form(state: CircleState, cmd: c.FormCircle, ctx: CommandContext) -> list[DomainEvent]:
    actor = ctx.actor
    if actor.role is not Role.PRACTITIONER:
        raise Forbidden("a circle is formed by the practitioner who will facilitate it")
    if state.formed:
        if (state.kind, state.facilitator_id, state.agency) == (cmd.kind, actor.id, actor.agency):
            return []  # a retry
        raise Conflict("this circle id is taken", field="circle_id")
    return [ev.CircleFormed(kind=cmd.kind, facilitator_id=actor.id, agency=actor.agency)]


def _invite(state: CircleState, cmd: c.InviteMember, ctx: CommandContext) -> list[DomainEvent]:
    _open(state)
    _facilitator(state, ctx)
    if cmd.case_agency != state.agency:
        raise Forbidden("the case belongs to another agency", field="case_id")
    assert state.kind is not None
    if cmd.person_role not in ev.ROLES_OF_KIND[state.kind]:
        reason = f"this person's part in their case does not fit a {state.kind} circle"
        raise Rejected(reason, field="person_id")
    member = state.members.get(cmd.person_id)
    if member is not None:
        if member.case_id != cmd.case_id:
            raise Rejected("this person is in the circle through another case", field="case_id")
        if member.standing in (Standing.INVITED, Standing.ACTIVE):
            return []  # invited or in already
        seat = member.seat  # back through every gate, in their old seat
    else:
        seat = max((m.seat for m in state.members.values()), default=0) + 1
    return [
        ev.MemberInvited(
            person_id=cmd.person_id, person_role=cmd.person_role, case_id=cmd.case_id, seat=seat
        )
    ]


def _join(state: CircleState, cmd: c.JoinCircle, ctx: CommandContext) -> list[DomainEvent]:
    _formed(state)
    actor = ctx.actor
    member = state.member(actor.id)
    if actor.role not in PARTICIPANT_ROLES or member is None or member.role != actor.role:
        raise NotFound("no invitation for you in this circle", field="circle_id")
    _open(state)
    if member.standing is Standing.ACTIVE:
        return []
    if member.standing is not Standing.INVITED:
        raise Rejected("joining again needs a new invitation", field="circle_id")
    if cmd.grant_id is None:
        raise Rejected("your consent to take part in this circle is not recorded", field="consent")
    if member.role is Role.RESPONSIBLE_PERSON and not cmd.acknowledgement_stands:
        raise Rejected(
            "a responsible person takes part only while their acknowledgement stands",
            field="acknowledgement",
        )
    return [ev.MemberJoined(person_id=actor.id, grant_id=cmd.grant_id, alias=cmd.alias)]


def _leave(state: CircleState, cmd: c.LeaveCircle, ctx: CommandContext) -> list[DomainEvent]:
    _formed(state)
    actor = ctx.actor
    own = actor.role in PARTICIPANT_ROLES and actor.id == cmd.person_id
    relayed = actor.role is Role.PRACTITIONER and actor.id == state.facilitator_id
    member = state.member(cmd.person_id)
    if member is None or not (own or relayed):
        raise NotFound("no such member of this circle for you", field="person_id")
    if member.standing in (Standing.LEFT, Standing.HALTED):
        return []  # out already
    return [ev.MemberLeft(person_id=cmd.person_id)]


def _halt_participation(
    state: CircleState, cmd: c.HaltParticipation, ctx: CommandContext
) -> list[DomainEvent]:
    member = state.member(cmd.person_id)
    if member is None or member.standing is not Standing.ACTIVE:
        return []  # nothing to halt (never joined, left, halted before)
    if cmd.grant_ids and member.grant_id not in cmd.grant_ids:
        return []  # another grant ended; the one they joined under stands
    return [
        ev.MemberParticipationHalted(
            person_id=cmd.person_id,
            cause=cmd.cause,
            cause_event_id=cmd.cause_event_id,
            grant_id=member.grant_id if cmd.grant_ids else None,
        )
    ]


def _schedule(state: CircleState, cmd: c.ScheduleSession, ctx: CommandContext) -> list[DomainEvent]:
    _open(state)
    _facilitator(state, ctx)
    known = state.meetings.get(cmd.session_id)
    if known is not None:
        if known.starts_at == cmd.starts_at:
            return []
        raise Conflict("this session id is used for another meeting", field="session_id")
    if cmd.starts_at <= ctx.now:
        raise Rejected("a meeting is scheduled in the future", field="starts_at")
    return [ev.CircleSessionScheduled(session_id=cmd.session_id, starts_at=cmd.starts_at)]


def _meeting(state: CircleState, session_id: UUID) -> Meeting:
    meeting = state.meetings.get(session_id)
    if meeting is None:
        raise NotFound("no such meeting in this circle", field="session_id")
    return meeting


def _hold(state: CircleState, cmd: c.HoldSession, ctx: CommandContext) -> list[DomainEvent]:
    _open(state)
    _facilitator(state, ctx)
    meeting = _meeting(state, cmd.session_id)
    if meeting.status is MeetingStatus.HELD:
        return []
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise Rejected("a halted meeting never resumes: schedule a new one", field="session_id")
    seats = tuple(sorted(m.seat for m in state.active()))
    return [ev.CircleSessionHeld(session_id=cmd.session_id, attended=seats)]


def _halt_session(state: CircleState, cmd: c.HaltSession, ctx: CommandContext) -> list[DomainEvent]:
    _formed(state)
    actor = ctx.actor
    member = state.member(actor.id)
    in_circle = (
        actor.role in PARTICIPANT_ROLES
        and member is not None
        and member.role == actor.role
        and member.standing is Standing.ACTIVE
    )
    if not in_circle:
        _facilitator(state, ctx)
    meeting = _meeting(state, cmd.session_id)
    if meeting.status is MeetingStatus.HALTED:
        return []
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise Rejected(f"the meeting is {meeting.status} already", field="session_id")
    return [ev.CircleSessionHalted(session_id=cmd.session_id)]


def _close(state: CircleState, cmd: c.CloseCircle, ctx: CommandContext) -> list[DomainEvent]:
    _formed(state)
    _facilitator(state, ctx)
    return [] if state.closed else [ev.CircleClosed()]


_HANDLERS = {
    c.FormCircle: _form,
    c.InviteMember: _invite,
    c.JoinCircle: _join,
    c.LeaveCircle: _leave,
    c.HaltParticipation: _halt_participation,
    c.ScheduleSession: _schedule,
    c.HoldSession: _hold,
    c.HaltSession: _halt_session,
    c.CloseCircle: _close,
}


def decide(state: CircleState, command: object, ctx: CommandContext) -> list[DomainEvent]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"not a circles command: {type(command).__name__}")
    return handler(state, command, ctx)  # type: ignore[operator]


decider = Decider(initial=initial, evolve=evolve, decide=decide)
