"""Who may do what in the consent service, as a matrix of callers x actions (no I/O): every
role, two agencies, and strangers of the same agency (issue 14, items 1 and 2)."""

from __future__ import annotations

from mend_consent import access
from mend_events.security.identity import Identity
from mend_testkit.matrix import (
    MATRIX_HP,
    assert_unknown_case_is_404,
    granted,
    matrix_callers,
    matrix_entry,
    matrix_leaks,
)

ACTIONS = ("record.write", "record.read", "record.history", "case.read")
MEMBERS = {"harmed person", "responsible person", "supporter", "institution rep"}
# action -> callers allowed; everyone else, and every caller of the other agency, is refused.
EXPECTED = {
    "record.write": MEMBERS | {"allocated practitioner"},
    "record.read": MEMBERS | {"allocated practitioner", "auditor"},
    "record.history": MEMBERS | {"allocated practitioner", "auditor"},
    "case.read": {"allocated practitioner", "auditor"},
}


def allowed(identity: Identity, action: str, person_id: str | None) -> bool:
    return granted(access.authorize, identity, action, matrix_entry(), person_id=person_id)


def whose(identity: Identity) -> str:
    # As the API asks: a participant's own record; staff relay or read the harmed person's.
    return identity.person_id if access.reads_only_own(identity) else MATRIX_HP


def test_matrix_two_agencies_and_strangers_has_no_leaks() -> None:
    on_whose = lambda who, action: allowed(who, action, whose(who))  # noqa: E731
    assert matrix_leaks(on_whose, ACTIONS, EXPECTED) == []


def test_nobody_acts_on_another_members_record() -> None:
    callers = matrix_callers()
    for name in ("responsible person", "supporter", "stranger harmed person"):
        assert not allowed(callers[name], "record.write", MATRIX_HP)


def test_a_practitioner_relays_only_a_members_word() -> None:
    prac = matrix_callers()["allocated practitioner"]
    assert allowed(prac, "record.write", MATRIX_HP)
    assert not allowed(prac, "record.write", "rp-0009zz")


def test_a_case_not_known_here_is_404_never_adopted() -> None:
    assert_unknown_case_is_404(access.authorize, ACTIONS, lambda identity: identity.person_id)
