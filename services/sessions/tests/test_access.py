"""The sessions service's access policy as a matrix: who may address a case for what. The
domain refuses further within a case (e.g. only the session's facilitator starts it)."""

from __future__ import annotations

import pytest
from mend_events.errors import Forbidden
from mend_events.identity import Identity
from mend_events.identity_types import Role
from mend_sessions.access import authorize

CASE, AGENCY = "case-0001", "agency-a"
HP, RP, SUP = "hp-0001", "rp-0001", "sup-0001"
IN_SESSION = frozenset({HP, RP})

CALLERS = {
    "harmed person": Identity(AGENCY, Role.HARMED_PERSON, HP),
    "another harmed person": Identity(AGENCY, Role.HARMED_PERSON, "hp-0002"),
    "responsible person": Identity(AGENCY, Role.RESPONSIBLE_PERSON, RP),
    "supporter (not in the session)": Identity(AGENCY, Role.SUPPORTER, SUP),
    "allocated facilitator": Identity(AGENCY, Role.PRACTITIONER, "prac-0001", frozenset({CASE})),
    "unallocated practitioner": Identity(AGENCY, Role.PRACTITIONER, "prac-0002"),
    "practitioner of another agency": Identity(
        "agency-b", Role.PRACTITIONER, "prac-0003", frozenset({CASE})
    ),
    "coordinator": Identity(AGENCY, Role.COORDINATOR, "coord-0001"),
    # Another agency's staff and participants: nothing of this agency's, registry included
    # (their own agency's registry is theirs: the service writes and lists by the caller's).
    "coordinator of another agency": Identity("agency-b", Role.COORDINATOR, "coord-0002"),
    "auditor of another agency": Identity("agency-b", Role.AUDITOR, "aud-0002"),
    "harmed person of another agency": Identity("agency-b", Role.HARMED_PERSON, HP),
    "auditor": Identity(AGENCY, Role.AUDITOR, "aud-0001"),
    "operator": Identity(AGENCY, Role.OPERATOR, "ops-0001"),
}

# action -> callers allowed (everyone else is refused)
MATRIX = {
    "case.open": {"harmed person", "allocated facilitator", "unallocated practitioner",
                  "coordinator"},
    "case.invite": {"supporter (not in the session)", "allocated facilitator",
                    "unallocated practitioner", "coordinator"},
    "lead.facilitator": {"harmed person"},
    "lead.preferences": {"harmed person"},
    "case.pause": {"harmed person", "allocated facilitator"},
    "case.resume": {"harmed person", "allocated facilitator"},
    "case.close": {"harmed person", "allocated facilitator"},
    "case.prepare": {"allocated facilitator"},
    "case.read": {"harmed person", "allocated facilitator", "auditor"},
    "session.schedule": {"harmed person", "allocated facilitator"},
    "session.start": {"allocated facilitator"},
    "session.complete": {"allocated facilitator"},
    "session.agree": {"allocated facilitator"},
    "session.halt": {"harmed person", "responsible person", "allocated facilitator"},
    "session.read": {"harmed person", "responsible person", "allocated facilitator", "auditor"},
    "registry.register": {"coordinator"},
    "registry.list": {"harmed person", "another harmed person", "allocated facilitator",
                      "unallocated practitioner", "coordinator", "auditor"},
}  # fmt: skip


def _resource(action: str, who: str) -> dict:
    if action.startswith("registry."):
        return {"case_id": None}
    return {"person_id": HP, "participants": IN_SESSION}


@pytest.mark.parametrize("action", sorted(MATRIX))
@pytest.mark.parametrize("who", sorted(CALLERS))
def test_policy_matrix(action: str, who: str) -> None:
    resource = {"case_id": CASE, "agency": AGENCY, **_resource(action, who)}
    allowed = who in MATRIX[action]
    try:
        authorize(CALLERS[who], action, **resource)
    except Forbidden:
        assert not allowed, f"{who} should be allowed to {action}"
    else:
        assert allowed, f"{who} should not be allowed to {action}"
