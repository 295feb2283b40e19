"""Who may do what in the risk service, as a matrix of roles x actions (no I/O)."""

from __future__ import annotations

import pytest
from mend_events.errors import Forbidden
from mend_events.identity import Identity
from mend_events.identity_types import Role
from mend_risk import access

CASE, AGENCY = "case-0001aa", "agency-a"
HP, RP = "hp-alice01", "rp-bob0001"


def who(role: Role, person: str = "prac-carol1", agency: str = AGENCY, cases=(CASE,)) -> Identity:
    return Identity(agency=agency, role=role, person_id=person, cases=frozenset(cases))


def allowed(identity: Identity, action: str, person_id: str | None = None) -> bool:
    try:
        access.authorize(identity, action, case_id=CASE, agency=AGENCY, person_id=person_id)
    except Forbidden:
        return False
    return True


W, R, P = access.WRITE, access.READ, access.READ_PLANS

# (identity, person_id of the record read, {action: allowed})
MATRIX = [
    (who(Role.PRACTITIONER), None, {W: True, R: True, P: True}),
    (who(Role.PRACTITIONER, cases=()), None, {W: False, R: False, P: False}),  # not allocated
    (who(Role.PRACTITIONER, agency="agency-b"), None, {W: False, R: False, P: False}),
    (who(Role.AUDITOR, "aud-dora01", cases=()), None, {W: False, R: True, P: True}),
    (who(Role.AUDITOR, "aud-dora01", agency="agency-b"), None, {W: False, R: False, P: False}),
    (who(Role.COORDINATOR, "coord-eve01"), None, {W: False, R: False, P: False}),
    (who(Role.OPERATOR, "ops-frank1"), None, {W: False, R: False, P: False}),
    (who(Role.SYSTEM, "svc-sessions"), None, {W: False, R: False, P: False}),
    # Participants: their own safety plan, nothing else, never another participant's.
    (who(Role.HARMED_PERSON, HP), HP, {W: False, R: False, P: True}),
    (who(Role.HARMED_PERSON, HP), RP, {W: False, R: False, P: False}),
    (who(Role.RESPONSIBLE_PERSON, RP), RP, {W: False, R: False, P: True}),
    (who(Role.RESPONSIBLE_PERSON, RP), HP, {W: False, R: False, P: False}),
    (who(Role.RESPONSIBLE_PERSON, RP), None, {W: False, R: False, P: False}),
    (who(Role.SUPPORTER, "sup-gina01"), HP, {W: False, R: False, P: False}),
    (who(Role.HARMED_PERSON, HP, agency="agency-b"), HP, {W: False, R: False, P: False}),
]


@pytest.mark.parametrize(("identity", "person_id", "expected"), MATRIX)
def test_access_matrix(identity: Identity, person_id: str | None, expected: dict) -> None:
    got = {action: allowed(identity, action, person_id) for action in expected}
    assert got == expected


def test_a_case_without_a_risk_record_belongs_to_the_callers_agency() -> None:
    practitioner = who(Role.PRACTITIONER)
    access.authorize(practitioner, W, case_id=CASE, agency=None)
    with pytest.raises(Forbidden):
        access.authorize(practitioner, W, case_id=CASE, agency="agency-b")
