"""The people directory's one rule, as a matrix of callers x actions (deny by default): every
role, two agencies, strangers of the same agency, and the other party of the same case."""

from __future__ import annotations

import pytest
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_hub.people import policy
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    MATRIX_CASE,
    MATRIX_HP,
    MATRIX_RP,
    granted,
    matrix_entry,
    matrix_leaks,
)

ALLOCATED = "prac-0001aa"  # the matrix's allocated practitioner


def via_cases(identity: Identity, person: str) -> tuple[str, ...]:
    """As `relations` finds them: the person's cases in the agency, allocated to the caller
    (the matrix's case is allocated to its practitioner, in agency A only)."""
    entry = matrix_entry()
    allocated = identity.agency == MATRIX_AGENCY and identity.person_id == ALLOCATED
    return (MATRIX_CASE,) if allocated and person in entry.members else ()


def allowed(identity: Identity, action: str, person: str) -> bool:
    def decide(identity, action, _entry, **kw):
        policy.authorize(identity, action, **kw)

    return granted(
        decide,
        identity,
        action,
        None,
        person_id=person,
        agency=MATRIX_AGENCY,
        via_cases=via_cases(identity, person),
    )


def expected(own: str) -> dict[str, set[str]]:
    # The record is the person's whatever participant role their token claims (a directory
    # entry is a person, not a role in one case): the responsible person signed in as a
    # supporter is still themselves.
    own = {own, "responsible person as supporter"} if own == "responsible person" else {own}
    readers = {"coordinator", *own, "allocated practitioner"}
    return {
        policy.REGISTER: {"coordinator"},
        policy.WRITE: {"coordinator", *own},
        policy.READ_DETAILS: readers,
        policy.READ_CONTACT: readers,
        policy.READ_LOG: {"auditor", "coordinator", *own},
    }


@pytest.mark.parametrize(
    ("person", "own"), [(MATRIX_HP, "harmed person"), (MATRIX_RP, "responsible person")]
)
def test_matrix_two_agencies_strangers_and_the_other_party(person: str, own: str) -> None:
    of_person = lambda who, action: allowed(who, action, person)  # noqa: E731
    assert matrix_leaks(of_person, policy.ACTIONS, expected(own)) == []


def test_the_responsible_person_never_reads_the_harmed_persons_record() -> None:
    rp = Identity(MATRIX_AGENCY, Role.RESPONSIBLE_PERSON, MATRIX_RP)
    for action in policy.ACTIONS:
        with pytest.raises(Forbidden):
            policy.authorize(rp, action, person_id=MATRIX_HP, agency=MATRIX_AGENCY)


def test_another_agency_is_refused_before_any_rule_even_with_a_case_in_its_token() -> None:
    coordinator_b = Identity("agency-b", Role.COORDINATOR, "coord-0001bb", frozenset({MATRIX_CASE}))
    with pytest.raises(Forbidden) as refused:
        policy.authorize(
            coordinator_b, policy.READ_CONTACT, person_id=MATRIX_HP, agency=MATRIX_AGENCY
        )
    assert refused.value.field == "person_id"


def test_a_token_listing_the_case_is_not_an_allocation() -> None:
    """The hub decides from its own allocations: a practitioner whose token lists the case but
    whom no allocation links to the person's case reads nothing."""
    case = frozenset({MATRIX_CASE})
    practitioner = Identity(MATRIX_AGENCY, Role.PRACTITIONER, "prac-0009zz", case)
    with pytest.raises(Forbidden):
        policy.authorize(
            practitioner, policy.READ_CONTACT, person_id=MATRIX_HP, agency=MATRIX_AGENCY
        )
