"""Community team conferences (issue 21): a recurring review of the case by its team and the
community members the harmed person agreed to. Pure: the state folded from the case stream (its
conference events only; aftercare's other events are the aftercare decider's), the decisions,
and the series' next meeting in local time. A separate decider over the same stream, so the
after-care state and its decisions stay as they are.

Rules a reviewer should know:
- Scheduling needs the harmed person known and her participation consent (take_part) in force
  now; the application layer reads it from ConsentFacts and fills the command.
- An invited member takes part only once the harmed person agreed to that invitation (her word,
  or her practitioner relaying it); a refusal, at any time, ends their part from then on.
- Minutes and the other words are sealed under her key by the store; members read the minutes
  only of the meetings they attended (views, service side).
- A withdrawal of her participation consent, a halt or the case's closing cancels every
  conference still to meet, once: a redelivered cause finds nothing left to cancel.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import aftercare as ev
from mend_events.contracts.catalog.aftercare import (
    ConferenceActionKind,
    ConferenceCadence,
    ConferenceCancelCause,
    ConferenceMemberRole,
    InvitationAnswer,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_aftercare import conference_commands as cc

TEAM = (Role.PRACTITIONER, Role.COORDINATOR)


@dataclass(frozen=True, slots=True)
class Member:
    role: ConferenceMemberRole
    answer: InvitationAnswer | None = None  # None: the harmed person has not answered yet

    @property
    def takes_part(self) -> bool:
        return self.answer is InvitationAnswer.AGREED


@dataclass(frozen=True, slots=True)
class Meeting:
    occurrence: int
    held_at: datetime
    attendees: frozenset[str]


@dataclass(frozen=True, slots=True)
class Conference:
    conference_id: str
    starts_at: datetime
    zone: str
    cadence: ConferenceCadence
    members: Mapping[str, Member] = field(default_factory=lambda: MappingProxyType({}))
    meetings: tuple[Meeting, ...] = ()
    actions: Mapping[UUID, ev.ConferenceActionAgreed] = field(
        default_factory=lambda: MappingProxyType({})
    )
    cancelled: ConferenceCancelCause | None = None

    @property
    def finished(self) -> bool:
        """Nothing more to meet: cancelled, or a single meeting that took place."""
        return self.cancelled is not None or (
            self.cadence is ConferenceCadence.ONCE and bool(self.meetings)
        )

    def taking_part(self) -> dict[str, str]:
        """Members the harmed person agreed to: id -> their role (the access resource)."""
        return {k: str(m.role) for k, m in self.members.items() if m.takes_part}

    def attended(self, person_id: str | None) -> frozenset[int]:
        return frozenset(m.occurrence for m in self.meetings if person_id in m.attendees)


@dataclass(frozen=True, slots=True)
class ConferencesState:
    case_id: str
    harmed_person_id: str | None = None
    conferences: Mapping[str, Conference] = field(default_factory=lambda: MappingProxyType({}))


def initial(case_id: str) -> ConferencesState:
    return ConferencesState(case_id=case_id)


# --- the series in local time -------------------------------------------------------------------


def _add_months(local: datetime, months: int) -> datetime:
    month0 = local.month - 1 + months
    year, month = local.year + month0 // 12, month0 % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def meeting_at(conference: Conference, index: int) -> datetime:
    """The `index`-th meeting (0: the first) as a UTC instant, at the first meeting's local
    wall-clock time in the conference's zone, whatever daylight saving does in between."""
    zone = ZoneInfo(conference.zone)
    first = conference.starts_at.astimezone(zone).replace(tzinfo=None)
    match conference.cadence:
        case ConferenceCadence.WEEKLY:
            local = first + timedelta(weeks=index)
        case ConferenceCadence.FORTNIGHTLY:
            local = first + timedelta(weeks=2 * index)
        case ConferenceCadence.MONTHLY:
            local = _add_months(first, index)
        case _:
            local = first
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def next_meeting(conference: Conference) -> datetime | None:
    """When the series meets next (None: it will not meet again)."""
    if conference.finished:
        return None
    return meeting_at(conference, len(conference.meetings))


# --- fold ---------------------------------------------------------------------------------------


def _put(s: ConferencesState, conference: Conference) -> ConferencesState:
    items = {**s.conferences, conference.conference_id: conference}
    return replace(s, conferences=MappingProxyType(items))


def evolve(s: ConferencesState, event: DomainEvent, meta: Metadata) -> ConferencesState:
    if isinstance(event, ev.ConferenceScheduled):
        s = replace(s, harmed_person_id=s.harmed_person_id or event.harmed_person_id)
        new = Conference(event.conference_id, event.starts_at, event.zone, event.cadence)
        return _put(s, new)
    known = s.conferences.get(getattr(event, "conference_id", None) or "")
    if known is None:
        return s  # another aftercare event (or one about nothing known: never emitted)
    match event:
        case ev.ConferenceMemberInvited():
            prior = known.members.get(event.member_id)
            member = Member(event.member_role, prior.answer if prior else None)
            return _put(s, _member(known, event.member_id, member))
        case ev.ConferenceInvitationAnswered():
            prior = known.members.get(event.member_id)
            if prior is None:
                return s
            return _put(s, _member(known, event.member_id, replace(prior, answer=event.answer)))
        case ev.ConferenceHeld():
            meeting = Meeting(event.occurrence, event.held_at, frozenset(event.attendee_ids))
            return _put(s, replace(known, meetings=(*known.meetings, meeting)))
        case ev.ConferenceActionAgreed():
            actions = MappingProxyType({**known.actions, event.action_id: event})
            return _put(s, replace(known, actions=actions))
        case ev.ConferenceCancelled():
            return _put(s, replace(known, cancelled=event.cause))
    return s


def _member(c: Conference, member_id: str, member: Member) -> Conference:
    return replace(c, members=MappingProxyType({**c.members, member_id: member}))


# --- decisions ----------------------------------------------------------------------------------


def _role(ctx: CommandContext, *roles: Role) -> None:
    if ctx.actor.role not in roles:
        raise Forbidden("only the " + " or ".join(roles) + " may do this")


def _conference(s: ConferencesState, conference_id: str, *, open_: bool = True) -> Conference:
    found = s.conferences.get(conference_id)
    if found is None:
        raise NotFound("no such conference in this case", field="conference_id")
    if open_ and found.finished:
        raise Rejected("this conference will not meet again", field="conference_id")
    return found


def _schedule(s: ConferencesState, cmd: cc.ScheduleConference, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    existing = s.conferences.get(cmd.conference_id)
    if existing is not None:
        same = (existing.starts_at, existing.zone, existing.cadence)
        if same != (cmd.starts_at, cmd.zone, cmd.cadence):
            raise Rejected("this id is already used for something else", field="conference_id")
        return []
    if cmd.harmed_person_id is None:
        raise NotFound("the case's harmed person is not known here yet", field="case_id")
    if not cmd.participation_consent:
        raise Rejected(
            "the harmed person's consent to take part is not in force", field="conference_id"
        )
    if cmd.starts_at < ctx.now:
        raise Rejected("a conference cannot be scheduled in the past", field="starts_at")
    return [
        ev.ConferenceScheduled(
            conference_id=cmd.conference_id,
            harmed_person_id=cmd.harmed_person_id,
            starts_at=cmd.starts_at,
            zone=cmd.zone,
            cadence=cmd.cadence,
        )
    ]


def _invite(s: ConferencesState, cmd: cc.InviteTo, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    conference = _conference(s, cmd.conference_id)
    if cmd.member_id == s.harmed_person_id:
        raise Rejected("the harmed person is not a guest of her own case", field="member_id")
    known = conference.members.get(cmd.member_id)
    if known is not None:
        if known.role is not cmd.member_role:
            raise Rejected("this member is invited in another role", field="member_role")
        return []
    return [ev.ConferenceMemberInvited(**cmd.model_dump())]


def _answer(s: ConferencesState, cmd: cc.AnswerFor, ctx: CommandContext) -> list:
    """Hers: the harmed person's own word, or her allocated practitioner relaying it."""
    own = ctx.actor.role is Role.HARMED_PERSON and ctx.actor.id == s.harmed_person_id
    if not (own or ctx.actor.role is Role.PRACTITIONER):
        raise Forbidden("only the harmed person agrees to who takes part")
    conference = _conference(s, cmd.conference_id, open_=False)
    known = conference.members.get(cmd.member_id)
    if known is None:
        raise NotFound("this person is not invited to this conference", field="member_id")
    if known.answer is cmd.answer:
        return []
    return [ev.ConferenceInvitationAnswered(**cmd.model_dump())]


def _hold(s: ConferencesState, cmd: cc.HoldMeeting, ctx: CommandContext) -> list:
    _role(ctx, Role.PRACTITIONER)
    conference = _conference(s, cmd.conference_id)
    if cmd.held_at > ctx.now:
        raise Rejected("a meeting is recorded once it took place", field="held_at")
    if cmd.held_at < conference.starts_at - timedelta(days=1):
        raise Rejected("the conference's first meeting is later", field="held_at")
    allowed = {s.harmed_person_id, ctx.actor.id, *conference.taking_part()}
    if any(a not in allowed for a in cmd.attendee_ids):
        raise Rejected(
            "an attendee is neither the harmed person nor a member she agreed to",
            field="attendee_ids",
        )
    assert s.harmed_person_id is not None  # fixed by the scheduling
    data = cmd.model_dump(exclude={"attendee_ids"})
    return [
        ev.ConferenceHeld(
            **data,
            occurrence=len(conference.meetings) + 1,
            harmed_person_id=s.harmed_person_id,
            attendee_ids=tuple(dict.fromkeys(cmd.attendee_ids)),
        )
    ]


_NEEDS: dict[ConferenceActionKind, tuple[str, ...]] = {
    ConferenceActionKind.COMMITMENT: ("commitment_code",),
    ConferenceActionKind.CHECK_IN: ("participant_id", "participant_role", "due_at"),
    ConferenceActionKind.REFERRAL: ("participant_id", "participant_role", "referral_kind",
                                    "due_on"),
}  # fmt: skip
_FIELDS = ("participant_id", "participant_role", "commitment_code", "referral_kind", "due_on",
           "due_at")  # fmt: skip


def _agree(s: ConferencesState, cmd: cc.AgreeActionAt, ctx: CommandContext) -> list:
    _role(ctx, Role.PRACTITIONER)
    conference = _conference(s, cmd.conference_id, open_=False)
    data: dict[str, Any] = cmd.model_dump()
    existing = conference.actions.get(cmd.action_id)
    if existing is not None:
        mine = existing.model_dump(exclude={"occurrence"})
        if mine != data:
            raise Rejected("this id is already used for something else", field="action_id")
        return []
    if conference.cancelled is not None or not conference.meetings:
        raise Rejected("actions are agreed at a meeting that took place", field="conference_id")
    for name in _FIELDS:
        needed = name in _NEEDS[cmd.kind]
        if needed != (data[name] is not None):
            reason = "is needed" if needed else "does not belong"
            raise Rejected(f"{name} {reason} for a {cmd.kind} action", field=name)
    return [ev.ConferenceActionAgreed(**data, occurrence=len(conference.meetings))]


def _cancel(s: ConferencesState, cmd: cc.CancelOne, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    conference = _conference(s, cmd.conference_id, open_=False)
    if conference.cancelled is not None:
        return []
    if conference.finished:
        raise Rejected("this conference has met and will not meet again", field="conference_id")
    return [
        ev.ConferenceCancelled(
            conference_id=cmd.conference_id,
            cause=ConferenceCancelCause.BY_TEAM,
            cancelled_by_id=ctx.actor.id,
        )
    ]


def _cancel_all(s: ConferencesState, cmd: cc.CancelConferences, ctx: CommandContext) -> list:
    """Every conference still to meet, once: one that is finished or cancelled is left."""
    _role(ctx, Role.SYSTEM)
    return [
        ev.ConferenceCancelled(
            conference_id=c.conference_id, cause=cmd.cause, cause_event_id=cmd.cause_event_id
        )
        for c in s.conferences.values()
        if not c.finished
    ]


_HANDLERS: dict[type, Any] = {
    cc.ScheduleConference: _schedule,
    cc.InviteTo: _invite,
    cc.AnswerFor: _answer,
    cc.HoldMeeting: _hold,
    cc.AgreeActionAt: _agree,
    cc.CancelOne: _cancel,
    cc.CancelConferences: _cancel_all,
}


def decide(s: ConferencesState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise Rejected(f"conferences do not handle {type(command).__name__}")
    return handler(s, command, ctx)


conference_decider: Decider[ConferencesState] = Decider(
    initial=initial, evolve=evolve, decide=decide
)
