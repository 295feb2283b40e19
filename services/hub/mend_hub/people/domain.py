"""One person's stream in the people directory (`person:<person>`): the pure fold and decisions.

The state knows whether the person is registered, in which agency, and which contact routes
exist, by id and channel; never a name, a number or any other personal value. The command
service keeps states in memory after appending the (not yet sealed) events, so a value held
here would outlive an erasure in that cache; the values are read from the stored, sealed
events instead (`sealed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from uuid import UUID

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.catalog.hub import (
    ContactChannel,
    ContactDetailsRead,
    ContactRouteRecorded,
    ContactRouteRemoved,
    PersonDetailsRecorded,
    PersonKind,
    PersonRegistered,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, NotFound, Rejected

from mend_hub.people.commands import AddRoute, RecordDetails, RecordRead, Register, RemoveRoute

# Enough for every real arrangement (a phone, a post address, a supporter, an agency...); more is
# a record nobody can keep safe.
MAX_ROUTES = 10


@dataclass(frozen=True, slots=True)
class PersonState:
    stream_id: str
    person_id: str | None = None
    agency: str | None = None
    kind: PersonKind | None = None
    routes: Mapping[UUID, ContactChannel] = field(default_factory=lambda: MappingProxyType({}))
    removed: frozenset[UUID] = frozenset()
    details_recorded: int = 0
    reads: int = 0

    @property
    def registered(self) -> bool:
        return self.person_id is not None


def initial(stream_id: str) -> PersonState:
    return PersonState(stream_id=stream_id)


def evolve(state: PersonState, event: DomainEvent, meta: Metadata) -> PersonState:
    if isinstance(event, PersonRegistered):
        if state.registered:
            return state
        return replace(state, person_id=event.person_id, agency=event.agency_id, kind=event.kind)
    if isinstance(event, PersonDetailsRecorded):
        return replace(state, details_recorded=state.details_recorded + 1)
    if isinstance(event, ContactRouteRecorded):
        routes = {**state.routes, event.route_id: event.channel}
        removed = state.removed - {event.route_id}
        return replace(state, routes=MappingProxyType(routes), removed=removed)
    if isinstance(event, ContactRouteRemoved):
        routes = {k: v for k, v in state.routes.items() if k != event.route_id}
        return replace(
            state, routes=MappingProxyType(routes), removed=state.removed | {event.route_id}
        )
    if isinstance(event, ContactDetailsRead):
        return replace(state, reads=state.reads + 1)
    return state


def _unknown_person() -> NotFound:
    return NotFound("no person with this id is in the directory", field="person_id")


def decide(state: PersonState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(command, Register):
        if state.registered:
            if (state.agency, state.kind) == (command.agency, command.kind):
                return []  # registered already, as asked: nothing to do
            raise Conflict("this person id is already registered", field="person_id")
        return [
            PersonRegistered(
                person_id=command.person_id, agency_id=command.agency, kind=command.kind
            )
        ]
    if not state.registered:
        raise _unknown_person()
    person = state.person_id
    assert person is not None
    if isinstance(command, RecordDetails):
        return [PersonDetailsRecorded(person_id=person, **command.model_dump())]
    if isinstance(command, AddRoute):
        if command.route_id not in state.routes and len(state.routes) >= MAX_ROUTES:
            raise Rejected(
                f"a person has at most {MAX_ROUTES} contact routes: remove one first",
                field="route",
            )
        return [
            ContactRouteRecorded(
                person_id=person, route_id=command.route_id, **command.route.model_dump()
            )
        ]
    if isinstance(command, RemoveRoute):
        if command.route_id in state.removed:
            return []  # removed already
        if command.route_id not in state.routes:
            raise NotFound("no contact route with this id", field="route_id")
        return [ContactRouteRemoved(person_id=person, route_id=command.route_id)]
    if isinstance(command, RecordRead):
        # Every read is recorded, a repeated one too: each is a disclosure of its own.
        return [
            ContactDetailsRead(
                person_id=person,
                purpose=command.purpose,
                via_case=command.via_case,
                route_ids=tuple(sorted(state.routes, key=str)),
            )
        ]
    raise TypeError(f"unknown command {type(command).__name__}")


decider: Decider[PersonState] = Decider(initial=initial, evolve=evolve, decide=decide)
