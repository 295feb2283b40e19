"""Who may do what in the hub, as a matrix of callers x actions (deny by default): every role,
two agencies, strangers of the same agency, and the deployment's operators (an operator of
the operating agency, `mend-ops`), on agency A's records and on a case of agency A."""

from __future__ import annotations

import pytest
from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity
from mend_hub import access
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    assert_unknown_case_is_404,
    granted,
    leaks,
    matrix_callers,
    matrix_entry,
)

OWN_PRACTITIONER = "prac-0001aa"  # the matrix's allocated practitioner: whose caseload is asked


def callers() -> dict[str, Identity]:
    return {
        **matrix_callers(),
        "deployment operator": Identity(
            access.DEFAULT_OPERATOR_AGENCY, Role.OPERATOR, "ops-0002aa"
        ),
        # the operating agency's other staff have no say over agencies
        "deployment coordinator": Identity(
            access.DEFAULT_OPERATOR_AGENCY, Role.COORDINATOR, "coord-0002aa"
        ),
    }


AGENCY_ACTIONS = (
    access.GOVERN,
    access.READ_AGENCY,
    access.CONFIGURE,
    access.STAFF_WRITE,
    access.ENROL_COORDINATOR,
    access.STAFF_LIST,
    access.CASELOAD,
)
CASE_ACTIONS = (access.ALLOCATE, access.HISTORY)
EXPECTED = {
    access.GOVERN: {"deployment operator"},
    access.READ_AGENCY: {"coordinator", "auditor", "deployment operator"},
    access.CONFIGURE: {"coordinator"},
    access.STAFF_WRITE: {"coordinator"},
    access.ENROL_COORDINATOR: {"coordinator", "deployment operator"},
    access.STAFF_LIST: {"coordinator", "auditor"},
    # a practitioner's caseload: theirs, their coordinators', their agency's auditors'
    access.CASELOAD: {"allocated practitioner", "coordinator", "auditor"},
    access.ALLOCATE: {"coordinator"},
    access.HISTORY: {"coordinator", "auditor"},
}


def on_agency(identity: Identity, action: str) -> bool:
    return granted(
        lambda i, a, agency, **kw: access.authorize(i, a, agency, **kw),
        identity,
        action,
        MATRIX_AGENCY,
        person_id=OWN_PRACTITIONER,
    )


def on_case(identity: Identity, action: str) -> bool:
    return granted(access.authorize_on_case, identity, action, matrix_entry())


@pytest.fixture(autouse=True)
def _default_operator_agency(monkeypatch):
    monkeypatch.delenv("MEND_HUB_OPERATOR_AGENCY", raising=False)


def test_matrix_two_agencies_strangers_and_operators_has_no_leaks() -> None:
    outcomes = {}
    for name, identity in callers().items():
        for action in AGENCY_ACTIONS:
            outcomes[(name, action)] = on_agency(identity, action)
        for action in CASE_ACTIONS:
            outcomes[(name, action)] = on_case(identity, action)
    assert leaks(outcomes, EXPECTED) == []


def test_an_allocation_on_a_case_not_known_here_is_404_for_everyone() -> None:
    assert_unknown_case_is_404(access.authorize_on_case, CASE_ACTIONS, lambda identity: None)


def test_the_operating_agency_is_the_deployments_setting(monkeypatch) -> None:
    monkeypatch.setenv("MEND_HUB_OPERATOR_AGENCY", "hub-ops")
    moved = Identity("hub-ops", Role.OPERATOR, "ops-0003aa")
    assert on_agency(moved, access.GOVERN)
    assert not on_agency(callers()["deployment operator"], access.GOVERN)
