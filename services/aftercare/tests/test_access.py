"""Who may do what in aftercare, as a matrix of callers x actions (deny by default): every
role, two agencies, and strangers of the same agency (issue 14, items 1 and 2)."""

from __future__ import annotations

import pytest
from mend_aftercare import access
from mend_aftercare.service import AftercareService
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    OTHER_AGENCY,
    assert_unknown_case_is_404,
    granted,
    matrix_entry,
    matrix_leaks,
)

CASE_ACTIONS = (access.OWN_RECORD, access.READ_OWN, access.CASEWORK, access.READ_CASE)
MEMBERS = {"harmed person", "responsible person", "supporter", "institution rep"}
# action -> callers allowed; everyone else, and every caller of the other agency, is refused.
EXPECTED = {
    access.OWN_RECORD: MEMBERS | {"allocated practitioner"},
    access.READ_OWN: MEMBERS | {"allocated practitioner", "auditor"},
    access.CASEWORK: {"allocated practitioner"},
    access.READ_CASE: {"allocated practitioner", "auditor"},
}


def allowed(identity: Identity, action: str) -> bool:
    entry = matrix_entry()
    # As the API asks (api._allow): the caller's own record only if they are a member.
    subject = AftercareService.subject(entry, identity)
    return granted(access.authorize, identity, action, entry, person_id=subject)


def test_matrix_two_agencies_and_strangers_has_no_leaks() -> None:
    assert matrix_leaks(allowed, CASE_ACTIONS, EXPECTED) == []


def test_a_case_not_known_here_is_404_for_everyone() -> None:
    assert_unknown_case_is_404(access.authorize, CASE_ACTIONS, lambda identity: identity.person_id)


@pytest.mark.parametrize(
    ("role", "agency", "allowed_"),
    [
        (Role.COORDINATOR, MATRIX_AGENCY, True),
        (Role.AUDITOR, MATRIX_AGENCY, True),
        (Role.COORDINATOR, OTHER_AGENCY, True),  # their own agency's report
        (Role.PRACTITIONER, MATRIX_AGENCY, False),
        (Role.HARMED_PERSON, MATRIX_AGENCY, False),
        (Role.OPERATOR, MATRIX_AGENCY, False),
    ],
)
def test_the_commissioners_report_is_the_callers_own_agencys(role, agency, allowed_) -> None:
    identity = Identity(agency, role, "p-0001aa")
    try:
        access.authorize_report(identity)
        outcome = True
    except Forbidden:
        outcome = False
    assert outcome == allowed_
