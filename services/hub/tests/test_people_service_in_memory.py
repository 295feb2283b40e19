"""The people directory's service on the in-memory store with a real sealer (fast, no I/O):
what is stored is sealed, what a permitted read shows is opened, an erasure leaves the record
readable only as erased, and a contact read shows exactly what its record names."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import ContactReadPurpose, person_stream
from mend_events.errors import Forbidden, NotFound
from mend_events.security.crypto import AgencyKeys, FieldSealer, InMemoryKeyStore
from mend_events.security.identity import Identity
from mend_events.store.memory import InMemoryEventStore
from mend_hub.people.commands import ContactRouteBody, RecordDetails, RegisterPerson
from mend_hub.people.service import PeopleService

HP, PRAC, CASE = "hp-mem00001", "prac-mem00001", "case-mem00001"
COORD = Identity("agency-a", Role.COORDINATOR, "coord-mem00001")
PRACTITIONER = Identity("agency-a", Role.PRACTITIONER, PRAC)
SAFETY = ContactReadPurpose.SAFETY_CHECK


class Linked:
    """The relation `relations.Relations` finds in the database: PRAC reaches HP via CASE."""

    async def via_cases(self, practitioner_id: str, person_id: str, agency: str):
        return (CASE,) if (practitioner_id, person_id) == (PRAC, HP) else ()


def ctx(identity: Identity) -> CommandContext:
    return CommandContext(identity.actor, datetime.now(UTC), uuid4())


@pytest.fixture
async def people():
    sealer = FieldSealer(InMemoryKeyStore(), AgencyKeys.from_env({}))
    service = PeopleService(InMemoryEventStore(sealer=sealer), sealer, Linked())
    await service.register(COORD, ctx(COORD), RegisterPerson(person_id=HP))
    details = RecordDetails(name="Zoë Canary", language="Welsh")
    await service.record_details(COORD, ctx(COORD), HP, details)
    route = ContactRouteBody(channel="phone", address="07700 900123", who_knows="nobody")
    await service.add_route(COORD, ctx(COORD), HP, route)
    return service


async def test_stored_sealed_shown_opened(people) -> None:
    stored = await people.store.read_stream(person_stream(HP))
    assert "Canary" not in str([e.data for e in stored])
    assert "07700" not in str([e.data for e in stored])
    shown = await people.details(PRACTITIONER, HP)
    assert shown["details"]["name"] == "Zoë Canary" and not shown["erased"]
    contact = await people.contact(PRACTITIONER, ctx(PRACTITIONER), HP, SAFETY)
    assert contact["routes"][0]["address"] == "07700 900123"
    assert contact["via_case"] == CASE


async def test_a_read_shows_what_its_record_names(people) -> None:
    contact = await people.contact(PRACTITIONER, ctx(PRACTITIONER), HP, SAFETY)
    (read,) = [
        e for e in await people.store.read_stream(person_stream(HP))
        if e.event_type == "ContactDetailsRead"
    ]  # fmt: skip
    assert str(read.event_id) == contact["read_id"]
    assert read.data["route_ids"] == [r["route_id"] for r in contact["routes"]]
    assert read.data["via_case"] == CASE and read.metadata.actor_id == PRAC


async def test_after_the_keys_are_destroyed_everything_reads_as_erased(people) -> None:
    assert await people.sealer.shred(HP, agency="agency-a")
    shown = await people.details(COORD, HP)
    assert shown["erased"] and set(shown["details"].values()) == {None}
    contact = await people.contact(COORD, ctx(COORD), HP, ContactReadPurpose.DETAILS_REVIEW)
    assert contact["erased"] and contact["routes"][0]["address"] is None
    # Details given after the erasure are the person's again, under a fresh key.
    await people.record_details(COORD, ctx(COORD), HP, RecordDetails(pronouns="they/them"))
    again = await people.details(COORD, HP)
    assert not again["erased"] and again["details"]["pronouns"] == "they/them"


async def test_no_link_no_read_and_no_record(people) -> None:
    stranger = Identity("agency-a", Role.PRACTITIONER, "prac-mem00009")
    with pytest.raises(Forbidden):
        await people.contact(stranger, ctx(stranger), HP, SAFETY)
    assert (await people.reads(COORD, HP))["reads"] == []
    with pytest.raises(NotFound):
        await people.details(COORD, "hp-nobody01")
