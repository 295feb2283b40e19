"""The two folds of a person's stream agree: the domain's (which routes exist, by id) and the
sealed record's (which stored events hold the routes a read shows), whatever the order of
additions, replacements, removals and reads."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import ContactReadPurpose, PersonKind, person_stream
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.errors import MendError
from mend_hub.people import domain, sealed
from mend_hub.people.commands import AddRoute, ContactRouteBody, RecordRead, Register, RemoveRoute

PERSON = "hp-fold0001"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
ACTOR = Actor(id="coord-fold0001", role=Role.COORDINATOR, agency="agency-a")
IDS = [UUID(int=i) for i in range(1, 5)]
ROUTE = ContactRouteBody(channel="post", address="a safe address")

commands = st.lists(
    st.one_of(
        st.builds(AddRoute, st.sampled_from(IDS), st.just(ROUTE)),
        st.builds(RemoveRoute, st.sampled_from(IDS)),
        st.just(RecordRead(ContactReadPurpose.SAFETY_CHECK)),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(commands)
def test_the_domain_and_the_sealed_record_see_the_same_routes(steps) -> None:
    ctx = CommandContext(ACTOR, NOW, uuid4())
    meta = Metadata(ACTOR.id, ACTOR.role, ACTOR.agency, uuid4(), None, NOW)
    state = domain.initial(person_stream(PERSON))
    stored: list[RecordedEvent] = []
    for command in [Register(PERSON, "agency-a", PersonKind.PARTICIPANT), *steps]:
        try:
            events = domain.decide(state, command, ctx)
        except MendError:
            continue  # refused (e.g. removing a route never recorded): nothing stored
        for event in events:
            state = domain.evolve(state, event, meta)
            stored.append(
                RecordedEvent(
                    global_position=len(stored) + 1,
                    stream_id=person_stream(PERSON),
                    stream_version=len(stored) + 1,
                    event_id=uuid4(),
                    event_type=event.event_type,
                    schema_version=1,
                    data=event.to_data(),
                    recorded_at=NOW,
                    case_id=person_stream(PERSON),
                    metadata=meta,
                )
            )
            if event.event_type == "ContactDetailsRead":
                # A read names exactly the routes the record before it shows.
                shown = sealed.stored_record(stored[:-1]).routes
                assert sorted(map(str, shown)) == [str(r) for r in event.route_ids]
    record = sealed.stored_record(stored)
    assert set(record.routes) == set(state.routes)
    assert len(record.reads) == state.reads
