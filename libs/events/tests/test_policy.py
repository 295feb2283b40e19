from __future__ import annotations

import pytest
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_events.security.policy import (
    BASELINE_RULES,
    Decision,
    Policy,
    Rule,
    all_of,
    allocated_case,
    authorize,
    own_record,
    read_only,
    same_agency,
    shared_with_agency,
)

AGENCY = "agency-north"
CASE = "case-9c1d2e4f"
POLICY = Policy(BASELINE_RULES)


def who(role: Role, agency: str = AGENCY, cases: frozenset[str] = frozenset({CASE})) -> Identity:
    return Identity(agency=agency, role=role, person_id=f"{role.value[:4]}-1234", cases=cases)


def resource(role: Role, **over) -> dict:
    """A resource of this agency's case, in which the caller takes part in their role, and
    (for record.*) the caller's own record."""
    me = who(role).person_id
    res = {"agency": AGENCY, "case_id": CASE, "person_id": me, "members": {me: role}}
    res.update(over)
    return res


H, R, S, INST = Role.HARMED_PERSON, Role.RESPONSIBLE_PERSON, Role.SUPPORTER, Role.INSTITUTION_REP
P, C, A, OPS, SYS = Role.PRACTITIONER, Role.COORDINATOR, Role.AUDITOR, Role.OPERATOR, Role.SYSTEM
V = Role.VOLUNTEER
# What a practitioner does on an allocated case (and no other role does all of).
CASEWORK = ["case.read", "case.write", "case.assign", "case.list", "record.read", "record.write"]
ACTIONS = [
    *CASEWORK,
    "audit.history",
    "shared.read",
    "ops.read",
    "ops.restart",
    "person.erase",
]
# Allowed (role, action) pairs on the caller's own agency, own record, allocated case;
# everything else is denied. shared.read is tested with a share to the caller's agency.
ALLOWED = {
    H: {"record.read", "record.write", "person.erase"},
    R: {"record.read", "record.write", "person.erase"},
    S: {"record.read", "record.write", "person.erase"},
    INST: {"record.read", "record.write", "person.erase"},
    P: {*CASEWORK, "shared.read"},
    C: {"case.assign", "case.list", "shared.read", "person.erase"},
    A: {"case.read", "case.list", "record.read", "audit.history", "shared.read", "ops.read"},
    OPS: {"ops.read", "ops.restart"},
    V: set(),  # nothing by default: each service grants a volunteer only their part
    SYS: set(),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", ACTIONS)
def test_matrix(role: Role, action: str) -> None:
    res = resource(role, shared_with=[AGENCY])
    decision = POLICY.decide(who(role), action, res)
    assert decision.allowed == (action in ALLOWED[role]), decision.reason
    assert decision.reason


def test_every_role_is_in_the_matrix() -> None:
    assert set(ALLOWED) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", ACTIONS)
def test_other_agency_sees_nothing_unshared(role: Role, action: str) -> None:
    outsider = who(role, agency="agency-south")
    allowed = POLICY.decide(outsider, action, resource(role)).allowed
    assert allowed == (role is OPS and action.startswith("ops."))


@pytest.mark.parametrize("role", [P, C])
def test_partner_agency_reads_only_what_is_shared(role: Role) -> None:
    partner = who(role, agency="agency-south", cases=frozenset())
    shared = resource(role, shared_with=["agency-south"])
    assert POLICY.decide(partner, "shared.read", shared).allowed
    assert not POLICY.decide(partner, "shared.read", resource(role)).allowed
    assert not POLICY.decide(partner, "case.read", shared).allowed


def test_practitioner_only_allocated_cases() -> None:
    prac = who(P, cases=frozenset({"case-other123"}))
    decision = POLICY.decide(prac, "case.read", resource(P))
    assert not decision.allowed
    assert "allocated" in decision.reason


@pytest.mark.parametrize("role", [H, R, S, INST])
def test_participant_only_their_own_record(role: Role) -> None:
    decision = POLICY.decide(who(role), "record.read", resource(role, person_id="hp-someone"))
    assert not decision.allowed and "own" in decision.reason
    assert not POLICY.decide(who(role), "case.read", resource(role)).allowed


@pytest.mark.parametrize("role", [H, R, S, INST])
def test_a_participant_erases_only_their_own_data(role: Role) -> None:
    someone_else = resource(role, person_id="hp-someone")
    decision = POLICY.decide(who(role), "person.erase", someone_else)
    assert not decision.allowed and "own" in decision.reason


def test_a_coordinator_erases_only_in_their_agency() -> None:
    anyone_here = {"agency": AGENCY, "person_id": "hp-someone"}
    assert POLICY.decide(who(C), "person.erase", anyone_here).allowed
    elsewhere = {"agency": "agency-south", "person_id": "hp-someone"}
    assert not POLICY.decide(who(C), "person.erase", elsewhere).allowed
    for role in (P, A, OPS, SYS):
        assert not POLICY.decide(who(role), "person.erase", anyone_here).allowed


def test_auditor_read_only() -> None:
    for action in ("case.write", "record.write", "case.assign", "audit.delete"):
        decision = POLICY.decide(who(A), action, resource(A))
        assert not decision.allowed and "only reads" in decision.reason


def test_operator_no_case_content() -> None:
    for action in ("case.read", "record.read", "case.list", "shared.read"):
        decision = POLICY.decide(who(OPS), action, resource(OPS, shared_with=[AGENCY]))
        assert not decision.allowed
        assert decision.reason == f"no rule allows role operator to {action}"


def test_deny_by_default_and_malformed_resources() -> None:
    assert not Policy([]).decide(who(P), "case.read", resource(P)).allowed
    assert not POLICY.decide(who(P), "case.read", {}).allowed
    assert not POLICY.decide(who(P), "case.read", {"agency": AGENCY, "case_id": 7}).allowed
    assert not POLICY.decide(who(P), "shared.read", {"shared_with": "agency-north"}).allowed
    assert not POLICY.decide(who(P), "unknown.verb", resource(P)).allowed


def test_authorize_raises_forbidden_with_reason() -> None:
    decision = authorize(POLICY, who(P), "case.read", resource(P))
    assert decision == Decision(True, decision.reason) and decision.reason.startswith("allowed")
    with pytest.raises(Forbidden) as info:
        authorize(POLICY, who(OPS), "case.read", resource(OPS))
    assert info.value.status == 403 and "operator" in info.value.reason


def test_rules_read_as_a_table() -> None:
    rule = Rule("case.*", {P}, all_of(same_agency, allocated_case))
    assert str(rule) == (
        "practitioner may case.* when the resource belongs to the caller's agency and "
        "the case is allocated to the caller"
    )
    assert rule.covers("case.read") and not rule.covers("cases.read")
    assert Rule("*", {A}, read_only).covers("anything.read")
    for cond in (same_agency, own_record, allocated_case, read_only, shared_with_agency):
        assert cond.describe  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [H, R, S, INST])
def test_participant_only_in_a_case_they_take_part_in_in_their_role(role: Role) -> None:
    me = who(role).person_id
    for members in ({}, {"hp-other1": H}, {me: P if role is not H else R}, None):
        decision = POLICY.decide(who(role), "record.write", resource(role, members=members))
        assert not decision.allowed and "takes part" in decision.reason
