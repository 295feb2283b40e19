"""Properties of a case's allocations over any sequence of coordinators' commands: the state
the domain keeps is what its events say (replayed from scratch), nobody is allocated twice,
only active practitioners of the case's agency are ever allocated, and a refused command
writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import AllocationReason
from mend_events.contracts.envelope import Metadata
from mend_events.errors import MendError
from mend_hub import commands as c
from mend_hub.domain import decider

A, CASE = "agency-a", "case-0001aa"
PEOPLE = ("prac-0001aa", "prac-0002aa", "prac-0003aa", "prac-0004aa")
CTX = CommandContext(Actor(id="coord-0001aa", role=Role.COORDINATOR, agency=A), datetime.now(UTC),
                     uuid4())  # fmt: skip
META = Metadata(CTX.actor.id, CTX.actor.role, A, uuid4(), None, CTX.now)


def standing(person: str) -> c.Standing:
    # prac-0004aa is deactivated: never allocatable
    return c.Standing(person, A, Role.PRACTITIONER, person != "prac-0004aa", True)


people = st.sampled_from(PEOPLE)
reasons = st.sampled_from(
    [r for r in AllocationReason if r is not AllocationReason.STAFF_DEACTIVATED]
)
commands = st.one_of(
    st.builds(lambda p, r: c.AllocateCase(A, p, r, standing(p)), people, reasons),
    st.builds(lambda p, r: c.DeallocateCase(A, p, r), people, reasons),
    st.builds(lambda f, t, r: c.ReallocateCase(A, f, t, r, standing(t)), people, people, reasons),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(commands, max_size=25))
def test_allocations_are_what_their_events_say(sequence) -> None:
    state, history = decider.initial(CASE), []
    for command in sequence:
        try:
            events = decider.decide(state, command, CTX)
        except MendError:
            continue  # refused: nothing written, the state stays
        for e in events:
            state = decider.evolve(state, e, META)
            history.append(e)
        allocated = [a.practitioner_id for a in state.current]
        assert len(allocated) == len(set(allocated))
        assert "prac-0004aa" not in allocated
    assert decider.fold(CASE, ((e, META) for e in history)) == state
    assert all(e.agency_id == A and e.case_id == CASE for e in history)
