"""The state of a case's community team conferences, folded from the case stream (its
conference events only; aftercare's other events are the aftercare decider's), and each series'
meetings in local time. Pure. Decisions: `conferences.py`."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from uuid import UUID
from zoneinfo import ZoneInfo

from mend_events.contracts.catalog import aftercare as ev
from mend_events.contracts.catalog.aftercare import (
    ConferenceCadence,
    ConferenceCancelCause,
    ConferenceMemberRole,
    InvitationAnswer,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent


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
