"""The people directory's pure fold and decisions: one person's stream."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    ContactChannel,
    ContactDetailsRead,
    ContactReadPurpose,
    ContactRouteRecorded,
    ContactRouteRemoved,
    PersonDetailsRecorded,
    PersonKind,
    person_stream,
)
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Conflict, NotFound, Rejected
from mend_hub.people import domain
from mend_hub.people.commands import (
    AddRoute,
    ContactRouteBody,
    RecordDetails,
    RecordRead,
    Register,
    RemoveRoute,
)
from pydantic import ValidationError

PERSON = "hp-0001aa"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
COORDINATOR = Actor(id="coord-0001aa", role=Role.COORDINATOR, agency="agency-a")
CTX = CommandContext(COORDINATOR, NOW, uuid4())
META = Metadata("coord-0001aa", Role.COORDINATOR, "agency-a", uuid4(), None, NOW)


def run(state: domain.PersonState, command) -> tuple[domain.PersonState, list]:
    events = domain.decide(state, command, CTX)
    for event in events:
        state = domain.evolve(state, event, META)
    return state, events


def registered() -> domain.PersonState:
    state, _ = run(
        domain.initial(person_stream(PERSON)), Register(PERSON, "agency-a", PersonKind.PARTICIPANT)
    )
    return state


def route(**kw) -> ContactRouteBody:
    return ContactRouteBody(channel=ContactChannel.PHONE, address="07700 900123", **kw)


def test_registering_twice_as_asked_writes_nothing_and_elsewhere_is_a_conflict() -> None:
    state = registered()
    assert state.registered and state.agency == "agency-a"
    assert run(state, Register(PERSON, "agency-a", PersonKind.PARTICIPANT))[1] == []
    with pytest.raises(Conflict):
        run(state, Register(PERSON, "agency-b", PersonKind.PARTICIPANT))


@pytest.mark.parametrize(
    "command",
    [RecordDetails(name="A"), AddRoute(uuid4(), route()), RemoveRoute(uuid4()),
     RecordRead(ContactReadPurpose.SAFETY_CHECK)],
)  # fmt: skip
def test_nothing_happens_to_a_person_not_in_the_directory(command) -> None:
    with pytest.raises(NotFound) as refused:
        run(domain.initial(person_stream(PERSON)), command)
    assert refused.value.field == "person_id"


def test_details_are_one_event_and_the_state_keeps_no_value() -> None:
    state, events = run(registered(), RecordDetails(name="Zoë Canary", pronouns="she/her"))
    assert [type(e) for e in events] == [PersonDetailsRecorded]
    assert events[0].name == "Zoë Canary" and events[0].language is None
    assert "Canary" not in repr(state)


def test_routes_are_added_replaced_removed_and_a_second_removal_writes_nothing() -> None:
    rid = uuid4()
    state, events = run(registered(), AddRoute(rid, route(may_leave_messages=True)))
    assert isinstance(events[0], ContactRouteRecorded) and events[0].may_leave_messages
    assert dict(state.routes) == {rid: ContactChannel.PHONE}
    assert "07700" not in repr(state)
    state, _ = run(state, AddRoute(rid, ContactRouteBody(channel="post", address="1 Road")))
    assert dict(state.routes) == {rid: ContactChannel.POST}
    state, events = run(state, RemoveRoute(rid))
    assert isinstance(events[0], ContactRouteRemoved) and state.routes == {}
    assert run(state, RemoveRoute(rid))[1] == []
    with pytest.raises(NotFound) as refused:
        run(state, RemoveRoute(uuid4()))
    assert refused.value.field == "route_id"


def test_routes_are_bounded() -> None:
    state = registered()
    for _ in range(domain.MAX_ROUTES):
        state, _ = run(state, AddRoute(uuid4(), route()))
    with pytest.raises(Rejected):
        run(state, AddRoute(uuid4(), route()))


def test_every_read_is_recorded_with_its_purpose_case_and_the_routes_shown() -> None:
    rid = UUID(int=7)
    state, _ = run(registered(), AddRoute(rid, route()))
    for _ in range(2):
        state, events = run(state, RecordRead(ContactReadPurpose.ARRANGE_SESSION, "case-0001aa"))
        (read,) = events
        assert isinstance(read, ContactDetailsRead)
        assert (read.purpose, read.via_case, read.route_ids) == (
            ContactReadPurpose.ARRANGE_SESSION,
            "case-0001aa",
            (rid,),
        )
    assert state.reads == 2


@pytest.mark.parametrize(
    "body",
    [{"name": "two\nlines"}, {"name": ""}, {"name": "x" * 121}, {"nickname": "Z"}],
)
def test_details_refuse_bad_text(body) -> None:
    with pytest.raises(ValidationError):
        RecordDetails(**body)
