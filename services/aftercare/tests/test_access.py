"""Who may do what in aftercare, as a matrix of callers x actions (deny by default): every
role, two agencies, and strangers of the same agency (issue 14, items 1 and 2)."""

from __future__ import annotations

from mend_aftercare import access
from mend_aftercare.service import AftercareService
from mend_events.security.identity import Identity
from mend_testkit.matrix import (
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
