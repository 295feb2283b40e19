"""Community volunteers as pure decisions (issue 21): vetting and training recorded by a
coordinator, and an allocation for a part refused while a required check or course is missing,
not clear or lapsed; its `valid_until` is the earliest day one of them lapses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    REQUIRED_TRAINING,
    AllocationReason,
    VettingCheck,
    VettingOutcome,
    VolunteerCourse,
    VolunteerPart,
    staff_stream,
)
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Conflict, NotFound, Rejected
from mend_hub import commands as c
from mend_hub.domain import decider

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

A, VOL, CASE = "agency-a", "vol-0001aa", "case-0001aa"
TODAY = NOW.date()
SUPPORT, CIRCLE = VolunteerPart.SUPPORT_PERSON, VolunteerPart.CIRCLE_COFACILITATOR
NEW = AllocationReason.NEW_CASE


def ctx(role: Role = Role.COORDINATOR) -> CommandContext:
    return CommandContext(Actor(id="coord-0001aa", role=role, agency=A), NOW, uuid4())


def run(stream: str, *commands, context: CommandContext | None = None):
    """Decide each command on the state the earlier ones left; the last one's events."""
    state, events = decider.initial(stream), []
    for command in commands:
        at = context or ctx()
        events = decider.decide(state, command, at)
        meta = Metadata(at.actor.id, at.actor.role, at.actor.agency, uuid4(), None, at.now)
        for e in events:
            state = decider.evolve(state, e, meta)
    return state, events


def vetting(check=VettingCheck.BACKGROUND_CHECK, outcome=VettingOutcome.CLEAR, until=None):
    until = until or TODAY + timedelta(days=365)
    return c.RecordVetting(A, check, outcome, TODAY - timedelta(days=10), until)


def trained(course: VolunteerCourse, until: date | None = None) -> c.RecordTraining:
    return c.RecordTraining(A, course, TODAY - timedelta(days=5), until)


def ready(part: VolunteerPart = SUPPORT, *, vetted_until=None, trained_until=None) -> list:
    """Everything a volunteer needs for `part`."""
    return [
        vetting(until=vetted_until),
        vetting(VettingCheck.REFERENCES),
        *(trained(course, trained_until) for course in sorted(REQUIRED_TRAINING[part])),
    ]


def volunteer(*records, role: Role = Role.VOLUNTEER):
    state, _ = run(staff_stream(VOL), c.EnrolStaff(A, VOL, role), *records)
    return state


def standing(state, active: bool = True) -> c.Standing:
    return c.Standing(VOL, A, state.role, active, True)


def allocate(record, part=SUPPORT, *before, active: bool = True):
    cmd = c.AllocateVolunteer(A, VOL, part, NEW, standing(record, active), record)
    return run(CASE, *before, cmd)


def test_a_volunteer_is_enrolled_like_staff_and_their_records_are_codes_and_dates():
    state = volunteer(*ready())
    assert state.role is Role.VOLUNTEER and state.active
    assert {v.check for v in state.vetting} == {VettingCheck.BACKGROUND_CHECK,
                                                VettingCheck.REFERENCES}  # fmt: skip
    # The same record again changes nothing; a later one supersedes it.
    _, again = run(staff_stream(VOL), c.EnrolStaff(A, VOL, Role.VOLUNTEER), vetting(), vetting())
    assert again == []


def test_vetting_and_training_are_for_volunteers_and_never_of_the_future():
    with pytest.raises(Rejected) as refused:
        volunteer(vetting(), role=Role.PRACTITIONER)
    assert refused.value.field == "person_id"
    future = c.RecordVetting(A, VettingCheck.BACKGROUND_CHECK, VettingOutcome.CLEAR,
                             TODAY + timedelta(days=1), TODAY + timedelta(days=30))  # fmt: skip
    with pytest.raises(Rejected) as refused:
        volunteer(future)
    assert refused.value.field == "checked_on"
    backwards = c.RecordTraining(A, VolunteerCourse.SAFEGUARDING, TODAY, TODAY - timedelta(days=1))
    with pytest.raises(Rejected) as refused:
        volunteer(backwards)
    assert refused.value.field == "valid_until"
    with pytest.raises(NotFound):  # another agency's person is nobody here
        run(staff_stream(VOL), c.EnrolStaff("agency-b", VOL, Role.VOLUNTEER), vetting())


@pytest.mark.parametrize(
    ("records", "words"),
    [
        ([], "no background_check is recorded"),
        (ready()[1:], "no background_check is recorded"),
        (
            [*ready(), vetting(outcome=VettingOutcome.NOT_CLEAR)],
            "the background_check is not clear",
        ),
        (ready(vetted_until=TODAY - timedelta(days=1)), "the background_check lapsed"),
        (ready()[:-1], "training is recorded"),
        (ready(trained_until=TODAY - timedelta(days=1)), "training lapsed"),
    ],
)
def test_allocation_is_refused_while_vetting_or_training_is_missing_or_lapsed(records, words):
    with pytest.raises(Rejected) as refused:
        allocate(volunteer(*records))
    assert refused.value.field == "volunteer_id" and words in str(refused.value)


def test_a_part_needs_its_own_training_and_the_allocation_says_until_when():
    record = volunteer(*ready(SUPPORT, trained_until=TODAY + timedelta(days=30)))
    with pytest.raises(Rejected, match="circle_facilitation"):
        allocate(record, CIRCLE)
    state, events = allocate(record, SUPPORT)
    assert [e.event_type for e in events] == ["VolunteerAllocated"]
    assert events[0].part is SUPPORT and events[0].valid_until == TODAY + timedelta(days=30)
    assert state.volunteer(VOL).part is SUPPORT and state.allocated(VOL) is False


def test_one_part_per_case_again_is_nothing_a_renewal_allocates_again_and_an_end():
    record = volunteer(*ready())
    first = c.AllocateVolunteer(A, VOL, SUPPORT, NEW, standing(record), record)
    _, again = allocate(record, SUPPORT, first)
    assert again == []
    member = VolunteerPart.CONFERENCE_MEMBER
    with pytest.raises(Conflict) as refused:
        allocate(record, member, first)
    assert refused.value.field == "part"
    later = TODAY + timedelta(days=700)  # both checks renewed: the earliest lapse moves on
    renewed = volunteer(
        *ready(), vetting(until=later), vetting(VettingCheck.REFERENCES, until=later)
    )
    _, events = allocate(renewed, SUPPORT, first)
    assert [e.event_type for e in events] == ["VolunteerAllocated"]
    end = c.DeallocateVolunteer(A, VOL, AllocationReason.OTHER)
    state, events = run(CASE, first, end)
    assert [e.event_type for e in events] == ["VolunteerDeallocated"]
    assert state.volunteer(VOL) is None
    with pytest.raises(Conflict):
        run(CASE, end)


def test_only_an_active_volunteer_of_the_cases_agency_for_a_reason_of_a_person():
    record = volunteer(*ready())
    with pytest.raises(Rejected, match="deactivated"):
        allocate(record, active=False)
    with pytest.raises(Rejected, match="only a volunteer"):
        staff = c.Standing(VOL, A, Role.PRACTITIONER, True, True)
        run(CASE, c.AllocateVolunteer(A, VOL, SUPPORT, NEW, staff, record))
    with pytest.raises(NotFound):
        run(CASE, c.AllocateVolunteer(A, VOL, SUPPORT, NEW, None, None))
    # The hub's own reason, when a check is recorded not clear, is not a coordinator's.
    hubs_own = c.AllocateVolunteer(A, VOL, SUPPORT, AllocationReason.VETTING_NOT_CLEAR,
                                   standing(record), record)  # fmt: skip
    with pytest.raises(Rejected) as refused:
        run(CASE, hubs_own, context=ctx())
    assert refused.value.field == "reason"
    # A practitioner's allocation names a practitioner, never a volunteer.
    with pytest.raises(Rejected, match="only a practitioner"):
        run(CASE, c.AllocateCase(A, VOL, NEW, standing(record)))
