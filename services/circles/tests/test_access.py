"""Who may do what in circles, as a matrix of callers x actions (deny by default): every role,
two agencies, strangers of the same agency; and members of one circle in another circle.

The circle of the matrix: formed in agency A by the matrix's practitioner, with the matrix's
harmed person invited. Its other callers (the responsible person, supporter, institution
representative of the matrix's case, strangers, the other agency) take no part in it."""

from __future__ import annotations

from uuid import uuid4

from mend_circles import access
from mend_circles.domain import CircleState, Member, Standing
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.circles import CircleKind
from mend_events.errors import Conflict, Forbidden, NotFound
from mend_events.security.identity import Identity
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    MATRIX_CASE,
    MATRIX_HP,
    granted,
    matrix_callers,
    matrix_entry,
    matrix_leaks,
)

FACILITATOR = "prac-0001aa"
CIRCLE_ACTIONS = (
    access.SEE,
    access.MANAGE,
    access.READ,
    access.MEMBER_READ,
    access.MEMBER_ACT,
)
# action -> callers allowed; everyone else (the other agency's callers all) is refused.
EXPECTED = {
    access.SEE: {"harmed person", "allocated practitioner", "auditor"},
    access.MANAGE: {"allocated practitioner"},
    access.READ: {"allocated practitioner", "auditor"},
    access.MEMBER_READ: {"harmed person", "auditor"},  # the auditor reads all (baseline)
    access.MEMBER_ACT: {"harmed person"},
}


def circle(members: dict[str, Role], facilitator: str = FACILITATOR) -> CircleState:
    return CircleState(
        "circle-0001aaaa",
        kind=CircleKind.SURVIVORS,
        facilitator_id=facilitator,
        agency=MATRIX_AGENCY,
        members={
            person: Member(person, role, MATRIX_CASE, seat, Standing.ACTIVE, uuid4())
            for seat, (person, role) in enumerate(members.items(), start=1)
        },
    )


CIRCLE_A = circle({MATRIX_HP: Role.HARMED_PERSON})


def allowed(identity: Identity, action: str, state: CircleState = CIRCLE_A) -> bool:
    try:
        access.authorize(identity, action, state)
    except (Forbidden, NotFound) as refused:
        assert refused.reason
        return False
    return True


def test_matrix_two_agencies_and_strangers_has_no_leaks() -> None:
    assert matrix_leaks(allowed, CIRCLE_ACTIONS, EXPECTED) == []


def test_whoever_may_not_see_a_circle_gets_404_not_403() -> None:
    # Its existence is not theirs to learn: one answer for an unknown circle and a hidden one.
    for name, identity in matrix_callers().items():
        if name in EXPECTED[access.SEE]:
            continue
        for action in CIRCLE_ACTIONS:
            try:
                access.authorize(identity, action, CIRCLE_A)
            except NotFound as refused:
                assert refused.field == "circle_id"
            else:
                raise AssertionError(f"{name} was let {action}")


def test_a_member_of_circle_a_sees_nothing_of_circle_b() -> None:
    member_of_a = matrix_callers()["harmed person"]
    circle_b = circle({"hp-0002bb": Role.HARMED_PERSON}, facilitator="prac-0002bb")
    for action in CIRCLE_ACTIONS:
        assert not allowed(member_of_a, action, circle_b)
    facilitator_of_a = matrix_callers()["allocated practitioner"]
    for action in CIRCLE_ACTIONS:
        assert not allowed(facilitator_of_a, action, circle_b)


def test_only_a_practitioner_forms_and_only_staff_list_their_own_agencys() -> None:
    unformed = CircleState("circle-0009zzzz")
    callers = matrix_callers()
    practitioners = {"allocated practitioner", "unallocated practitioner"}
    formers = {n for n, i in callers.items() if allowed(i, access.FORM, unformed)}
    assert formers == practitioners | {f"{p} of agency-b" for p in practitioners}
    listers = set()
    for name, identity in callers.items():
        try:
            access.authorize_list(identity)  # always within the caller's own agency
            listers.add(name)
        except Forbidden:
            pass
    staff = practitioners | {"coordinator", "auditor"}
    assert listers == staff | {f"{s} of agency-b" for s in staff}


def test_forming_a_taken_id_is_a_conflict_whoever_asks() -> None:
    other = matrix_callers()["unallocated practitioner"]
    try:
        access.authorize(other, access.FORM, CIRCLE_A)
    except Conflict as refused:
        assert refused.field == "circle_id"
    else:
        raise AssertionError("a taken circle id was let through")


def test_only_the_practitioner_allocated_to_a_case_invites_its_people() -> None:
    # Naming a case's people is casework on it: nobody else learns who takes part in it.
    def may_invite(identity: Identity, action: str) -> bool:
        return granted(lambda i, _a, e: access.authorize_invitation(i, e), identity, action,
                       matrix_entry())  # fmt: skip

    expected = {access.INVITE: {"allocated practitioner"}}
    assert matrix_leaks(may_invite, (access.INVITE,), expected) == []
    try:
        access.authorize_invitation(matrix_callers()["allocated practitioner"], None)
    except NotFound as refused:
        assert refused.field == "case_id"
    else:
        raise AssertionError("an unknown case was let through")
