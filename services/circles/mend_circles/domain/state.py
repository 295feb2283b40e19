"""A circle's state, folded from its own stream (pure: no I/O, no clock)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import circles as ev
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent


class Standing(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    LEFT = "left"
    HALTED = "halted"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    HALTED = "halted"
    CANCELLED = "cancelled"  # by the circle's closure


@dataclass(frozen=True, slots=True)
class Member:
    person_id: str
    role: Role
    case_id: str
    seat: int
    standing: Standing
    grant_id: UUID | None = None
    has_alias: bool = False
    halted_by: UUID | None = None  # the consent event that halted their participation


@dataclass(frozen=True, slots=True)
class Meeting:
    session_id: UUID
    starts_at: datetime
    status: MeetingStatus
    attended: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CircleState:
    circle_id: str
    kind: ev.CircleKind | None = None
    facilitator_id: str | None = None
    agency: str | None = None
    closed: bool = False
    members: dict[str, Member] = field(default_factory=dict)  # person id -> member
    meetings: dict[UUID, Meeting] = field(default_factory=dict)

    @property
    def formed(self) -> bool:
        return self.kind is not None

    def active(self) -> list[Member]:
        return [m for m in self.members.values() if m.standing is Standing.ACTIVE]

    def member(self, person_id: str | None) -> Member | None:
        return self.members.get(person_id) if person_id is not None else None


def initial(circle_id: str) -> CircleState:
    return CircleState(circle_id)


def _with_member(state: CircleState, person_id: str, **changes: object) -> CircleState:
    member = state.members.get(person_id)
    if member is None:  # a stored event never raises: a stray one changes nothing
        return state
    return replace(state, members={**state.members, person_id: replace(member, **changes)})


def _with_meeting(state: CircleState, session_id: UUID, **changes: object) -> CircleState:
    meeting = state.meetings.get(session_id)
    if meeting is None:
        return state
    return replace(state, meetings={**state.meetings, session_id: replace(meeting, **changes)})


def evolve(state: CircleState, event: DomainEvent, meta: Metadata) -> CircleState:
    match event:
        case ev.CircleFormed():
            return replace(
                state, kind=event.kind, facilitator_id=event.facilitator_id, agency=event.agency
            )
        case ev.MemberInvited():
            member = Member(
                event.person_id, event.person_role, event.case_id, event.seat, Standing.INVITED
            )
            return replace(state, members={**state.members, event.person_id: member})
        case ev.MemberJoined():
            return _with_member(
                state,
                event.person_id,
                standing=Standing.ACTIVE,
                grant_id=event.grant_id,
                has_alias=event.alias is not None,
            )
        case ev.MemberLeft():
            return _with_member(state, event.person_id, standing=Standing.LEFT)
        case ev.MemberParticipationHalted():
            return _with_member(
                state, event.person_id, standing=Standing.HALTED, halted_by=event.cause_event_id
            )
        case ev.CircleSessionScheduled():
            meeting = Meeting(event.session_id, event.starts_at, MeetingStatus.SCHEDULED)
            return replace(state, meetings={**state.meetings, event.session_id: meeting})
        case ev.CircleSessionHeld():
            return _with_meeting(
                state, event.session_id, status=MeetingStatus.HELD, attended=event.attended
            )
        case ev.CircleSessionHalted():
            return _with_meeting(state, event.session_id, status=MeetingStatus.HALTED)
        case ev.CircleClosed():
            meetings = {
                k: replace(m, status=MeetingStatus.CANCELLED)
                if m.status is MeetingStatus.SCHEDULED
                else m
                for k, m in state.meetings.items()
            }
            return replace(state, closed=True, meetings=meetings)
    return state
