"""Who may do what in aftercare, as a matrix of roles x actions (deny by default)."""

from __future__ import annotations

import pytest
from mend_aftercare import access
from mend_events.errors import Forbidden
from mend_events.identity import Identity
from mend_events.identity_types import Role

CASE, AGENCY = "case-0001aa", "agency-a"
ACTIONS = (access.OWN_RECORD, access.READ_OWN, access.CASEWORK, access.READ_CASE, access.REPORT)


def who(role: Role, person: str = "p-000001", agency: str = AGENCY, cases=()) -> Identity:
    return Identity(agency=agency, role=role, person_id=person, cases=frozenset(cases))


HP = who(Role.HARMED_PERSON, "hp-alice01")
RP = who(Role.RESPONSIBLE_PERSON, "rp-bob0001")
PRAC = who(Role.PRACTITIONER, "prac-carol1", cases=(CASE,))

# (identity, person the record belongs to, the actions allowed)
MATRIX = [
    (HP, "hp-alice01", {access.OWN_RECORD, access.READ_OWN}),
    (HP, None, set()),  # not this case's harmed person
    (who(Role.HARMED_PERSON, "hp-alice01", agency="agency-b"), "hp-alice01", set()),
    (RP, "rp-bob0001", {access.OWN_RECORD, access.READ_OWN}),
    (RP, None, set()),
    (who(Role.SUPPORTER, "sup-000001"), None, set()),
    (PRAC, None, {access.OWN_RECORD, access.READ_OWN, access.CASEWORK, access.READ_CASE}),
    (who(Role.PRACTITIONER, "prac-other1"), None, set()),  # not allocated
    (who(Role.PRACTITIONER, "prac-carol1", "agency-b", (CASE,)), None, set()),
    (who(Role.COORDINATOR, "coord-erin1"), None, {access.REPORT}),
    (who(Role.COORDINATOR, "coord-erin1", agency="agency-b"), None, set()),
    (who(Role.AUDITOR, "aud-dave01"), None, {access.READ_OWN, access.READ_CASE, access.REPORT}),
    (who(Role.AUDITOR, "aud-dave01", agency="agency-b"), None, set()),
    (who(Role.OPERATOR, "op-frank1"), None, set()),
    (who(Role.SYSTEM, "svc-other1"), None, set()),
]


@pytest.mark.parametrize("identity,person,allowed", MATRIX)
def test_matrix(identity: Identity, person: str | None, allowed: set[str]) -> None:
    for action in ACTIONS:
        case_id = None if action == access.REPORT else CASE
        try:
            access.authorize(identity, action, case_id=case_id, agency=AGENCY, person_id=person)
            outcome = True
        except Forbidden as exc:
            assert exc.reason
            outcome = False
        assert outcome == (action in allowed), (identity.role, identity.agency, action)
