"""Who may do what in the risk service, as a matrix of callers x actions (no I/O): every role,
two agencies, and strangers of the same agency (issue 14, items 1 and 2)."""

from __future__ import annotations

from mend_events.security.identity import Identity
from mend_risk import access
from mend_testkit.matrix import (
    MATRIX_HP,
    MATRIX_RP,
    assert_unknown_case_is_404,
    granted,
    matrix_callers,
    matrix_entry,
    matrix_leaks,
)

W, R, P = access.WRITE, access.READ, access.READ_PLANS
MEMBERS = {"harmed person", "responsible person", "supporter", "institution rep"}
# action -> callers allowed; everyone else, and every caller of the other agency, is refused.
# A participant reads only the safety plans agreed with them; never an assessment or a flag.
EXPECTED = {
    W: {"allocated practitioner"},
    R: {"allocated practitioner", "auditor"},
    P: {"allocated practitioner", "auditor"} | MEMBERS,
}


def allowed(identity: Identity, action: str, person_id: str | None) -> bool:
    return granted(access.authorize, identity, action, matrix_entry(), person_id=person_id)


def own(identity: Identity) -> str | None:
    # As the API asks: a participant reads only their own plans.
    return identity.person_id if access.reads_only_own(identity) else None


def test_matrix_two_agencies_and_strangers_has_no_leaks() -> None:
    on_own = lambda who, action: allowed(who, action, own(who))  # noqa: E731
    assert matrix_leaks(on_own, (W, R, P), EXPECTED) == []


def test_a_participant_never_reads_another_participants_plan() -> None:
    callers = matrix_callers()
    assert not allowed(callers["responsible person"], P, MATRIX_HP)
    assert not allowed(callers["harmed person"], P, MATRIX_RP)


def test_a_case_not_known_here_is_404_never_adopted() -> None:
    assert_unknown_case_is_404(access.authorize, (W, R, P), own)
