"""Meetings and the harmed person's own materials as the case's state holds them (ids, codes,
times; every free text stays sealed in the events), and their part of the fold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from mend_events.contracts.catalog.sessions import (
    MaterialOffered,
    MaterialRead,
    MaterialRevised,
    MaterialShared,
    MaterialUnshared,
    MaterialWritten,
    MeetingArranged,
    MeetingAvailabilityGiven,
    MeetingCancelled,
)
from mend_events.contracts.events import DomainEvent

if TYPE_CHECKING:
    from mend_sessions.domain.state import CaseState


class MeetingStatus(StrEnum):
    ARRANGED = "arranged"
    CANCELLED = "cancelled"  # final


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting: ids, time, channel kind and the plan's arrangements (its place is sealed in
    its event). `availability`: person id -> whether they said they can attend."""

    id: str
    arranged: MeetingArranged
    status: MeetingStatus = MeetingStatus.ARRANGED
    availability: Mapping[str, bool] = field(default_factory=dict)

    @property
    def session_id(self) -> str | None:
        return self.arranged.session_id

    @property
    def people(self) -> frozenset[str]:
        """Who the meeting is for: its attendees and its facilitator."""
        return frozenset({*(p.id for p in self.arranged.attendees), self.arranged.facilitator_id})

    @property
    def upcoming(self) -> bool:
        return self.status == MeetingStatus.ARRANGED


@dataclass(frozen=True, slots=True)
class Material:
    """One of the harmed person's own items: ids and states (its text is sealed)."""

    id: str
    kind: str
    owner_id: str
    shared: bool = False  # with the facilitator and the allocated team
    letter_id: str | None = None  # the letter it was offered as, to the responsible person
    versions: int = 1
    reads: int = 0


def evolve_meeting(state: CaseState, event: DomainEvent) -> CaseState:
    if isinstance(event, MeetingArranged):
        if event.meeting_id in state.meetings:
            return state
        meeting = Meeting(event.meeting_id, event)
    else:
        found = state.meetings.get(getattr(event, "meeting_id", ""))
        if found is None:
            return state
        if isinstance(event, MeetingAvailabilityGiven):
            given = {**found.availability, event.person_id: event.available}
            meeting = replace(found, availability=given)
        else:
            assert isinstance(event, MeetingCancelled)
            meeting = replace(found, status=MeetingStatus.CANCELLED)
            if event.cause_event_id is not None:
                state = replace(state, handled_causes=state.handled_causes | {event.cause_event_id})
    return replace(state, meetings={**state.meetings, meeting.id: meeting})


def evolve_material(state: CaseState, event: DomainEvent) -> CaseState:
    if isinstance(event, MaterialWritten):
        if event.item_id in state.materials:
            return state
        item = Material(event.item_id, str(event.kind), event.owner_id)
    else:
        found = state.materials.get(getattr(event, "item_id", ""))
        if found is None:
            return state
        match event:
            case MaterialRevised():
                item = replace(found, versions=found.versions + 1)
            case MaterialShared():
                item = replace(found, shared=True)
            case MaterialUnshared():
                item = replace(found, shared=False)
            case MaterialOffered():
                item = replace(found, letter_id=event.letter_id)
            case _:
                item = replace(found, reads=found.reads + 1)
    return replace(state, materials={**state.materials, item.id: item})


MEETING_EVENTS = (MeetingArranged, MeetingAvailabilityGiven, MeetingCancelled)
MATERIAL_EVENTS = (
    MaterialWritten, MaterialRevised, MaterialShared, MaterialUnshared, MaterialOffered,
    MaterialRead,
)  # fmt: skip
