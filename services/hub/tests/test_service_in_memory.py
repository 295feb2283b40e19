"""The hub's application layer on the in-memory event store: what spans streams (a deactivation
ending allocations on every case, an allocation racing a deactivation, a person's standing),
in milliseconds. The case directory and the read models are PostgreSQL's (test_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    AllocationReason,
    DeactivationReason,
    SuspensionReason,
    staff_stream,
)
from mend_events.security.cases import CaseDirectory
from mend_events.store import InMemoryEventStore
from mend_hub import commands as c
from mend_hub.service import HubService

A = "agency-a"
PRAC, PRAC2 = "prac-0001aa", "prac-0002aa"
CASES = ("case-0001aa", "case-0002aa", "case-0003aa")


def as_(role: Role, person: str = "coord-0001aa", agency: str = A) -> CommandContext:
    return CommandContext(Actor(id=person, role=role, agency=agency), datetime.now(UTC), uuid4())


COORD, OPERATOR = as_(Role.COORDINATOR), as_(Role.OPERATOR, "ops-0001aa", "mend-ops")


@pytest.fixture
async def hub() -> HubService:
    service = HubService(InMemoryEventStore("hub"), CaseDirectory("hub"))
    await service.onboard(c.OnboardAgency(agency_id=A, name="North RJ"), OPERATOR)
    for person in (PRAC, PRAC2):
        await service.on_staff(person, c.EnrolStaff(A, person, Role.PRACTITIONER), COORD)
    return service


async def allocate(hub: HubService, case: str, person: str = PRAC):
    body = c.AllocateBody(practitioner_id=person, reason=AllocationReason.NEW_CASE)
    return await hub.allocate(case, A, body, COORD)


async def test_deactivation_ends_every_allocation_as_the_hub_caused_by_it(hub):
    for case in CASES:
        await allocate(hub, case)
    await allocate(hub, CASES[0], PRAC2)
    off = c.DeactivateStaff(A, DeactivationReason.SECURITY_CONCERN)
    result = await hub.on_staff(PRAC, off, COORD)
    (deactivated,) = result.events
    assert await hub.cases_of(PRAC) == []
    assert await hub.cases_of(PRAC2) == [CASES[0]]
    for case in CASES:
        events = await hub.store.read_stream(case)
        ended = next(e for e in events if e.data["practitioner_id"] == PRAC and
                     e.event_type == "CaseDeallocated")  # fmt: skip
        assert ended.event_type == "CaseDeallocated"
        assert ended.data["reason"] == "staff_deactivated"
        assert ended.metadata.role is Role.SYSTEM
        assert ended.metadata.causation_id == deactivated.event_id
        assert ended.metadata.correlation_id == COORD.correlation_id


async def test_ending_them_again_writes_nothing(hub):
    await allocate(hub, CASES[0])
    await hub.on_staff(PRAC, c.DeactivateStaff(A, DeactivationReason.OTHER), COORD)
    before = await hub.store.head_position()
    assert await hub.end_allocations(PRAC, COORD) == 0
    assert await hub.store.head_position() == before


async def test_an_allocation_decided_before_a_deactivation_committed_is_ended(hub):
    # The allocation read the practitioner's standing while they were active; the deactivation
    # then committed, and looked for their cases before the allocation was appended.
    active = await hub.standing(PRAC)
    await hub.on_staff(PRAC, c.DeactivateStaff(A, DeactivationReason.OTHER), COORD)
    command = c.AllocateCase(A, PRAC, AllocationReason.NEW_CASE, active)
    await hub.commands.execute(CASES[0], command, COORD)
    assert await hub.cases_of(PRAC) == [CASES[0]]
    await hub._recheck(CASES[0], PRAC, A, COORD)  # what allocate() does after its append
    assert await hub.cases_of(PRAC) == []


async def test_standing_says_who_is_active_staff_of_an_active_agency(hub):
    assert await hub.standing("prac-nobody1") is None
    found = await hub.active_staff(A, PRAC)
    assert found is not None and found.role is Role.PRACTITIONER
    assert await hub.active_staff("agency-b", PRAC) is None
    await hub.on_agency(A, c.SuspendAgency(reason=SuspensionReason.UNDER_REVIEW), OPERATOR)
    suspended = await hub.standing(PRAC)
    assert suspended.active and not suspended.agency_active
    assert await hub.active_staff(A, PRAC) is None


async def test_a_reactivated_practitioner_is_allocated_again(hub):
    off = c.DeactivateStaff(A, DeactivationReason.OTHER)
    await hub.on_staff(PRAC, off, COORD)
    await hub.on_staff(PRAC, c.ReactivateStaff(A), COORD)
    result = await allocate(hub, CASES[0])
    assert len(result.events) == 1 and await hub.cases_of(PRAC) == [CASES[0]]
    assert [e.event_type for e in await hub.store.read_stream(staff_stream(PRAC))] == [
        "StaffEnrolled",
        "StaffDeactivated",
        "StaffReactivated",
    ]
