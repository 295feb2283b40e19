"""The authorization matrix: every role, two agencies, strangers of the same agency; each
service's access test checks its policy against it."""

from __future__ import annotations

MATRIX_CASE, MATRIX_AGENCY, OTHER_AGENCY = "case-0001aa", "agency-a", "agency-b"
MATRIX_HP, MATRIX_RP, MATRIX_SUP, MATRIX_INST = "hp-0001aa", "rp-0001aa", "sup-0001aa", "ir-0001aa"


def matrix_entry():
    """The case of the matrix: opened in agency A by MATRIX_HP, with a responsible person, a
    supporter and an institution representative enrolled."""
    from mend_events.contracts.actors import Role
    from mend_events.security.cases import CaseEntry

    return CaseEntry(
        case_id=MATRIX_CASE,
        agency=MATRIX_AGENCY,
        harmed_person_id=MATRIX_HP,
        members={
            MATRIX_HP: Role.HARMED_PERSON,
            MATRIX_RP: Role.RESPONSIBLE_PERSON,
            MATRIX_SUP: Role.SUPPORTER,
            MATRIX_INST: Role.INSTITUTION_REP,
        },
    )


def matrix_callers() -> dict:
    """name -> Identity: each role as a member of the case (or allocated to it), as a stranger
    of the same agency (same role, not a member, or not allocated), and each again with the
    other agency's token (same person ids, the case in its allocated cases: as the trust model
    admits them, allocated by that agency to the same case id)."""
    from mend_events.contracts.actors import Role
    from mend_events.security.identity import Identity

    case = frozenset({MATRIX_CASE})
    people = {
        "harmed person": (Role.HARMED_PERSON, MATRIX_HP, frozenset()),
        "responsible person": (Role.RESPONSIBLE_PERSON, MATRIX_RP, frozenset()),
        "supporter": (Role.SUPPORTER, MATRIX_SUP, frozenset()),
        "institution rep": (Role.INSTITUTION_REP, MATRIX_INST, frozenset()),
        "allocated practitioner": (Role.PRACTITIONER, "prac-0001aa", case),
        "coordinator": (Role.COORDINATOR, "coord-0001aa", frozenset()),
        "auditor": (Role.AUDITOR, "aud-0001aa", frozenset()),
        "operator": (Role.OPERATOR, "ops-0001aa", frozenset()),
        "system": (Role.SYSTEM, "svc-other1", frozenset()),
        # strangers of the same agency: the same role, no part in this case
        "stranger harmed person": (Role.HARMED_PERSON, "hp-0009zz", frozenset()),
        "stranger responsible person": (Role.RESPONSIBLE_PERSON, "rp-0009zz", frozenset()),
        "stranger supporter": (Role.SUPPORTER, "sup-0009zz", frozenset()),
        "stranger institution rep": (Role.INSTITUTION_REP, "ir-0009zz", frozenset()),
        "unallocated practitioner": (Role.PRACTITIONER, "prac-0009zz", frozenset()),
        # a member whose token claims another role than the one they were enrolled in
        "responsible person as supporter": (Role.SUPPORTER, MATRIX_RP, frozenset()),
        # community volunteers (issue 21): allocated to the case for a part (as the trust
        # model admits them, `Identity.parts`), and one of the same agency allocated elsewhere
        "allocated volunteer": (Role.VOLUNTEER, MATRIX_VOLUNTEER, case),
        "unallocated volunteer": (Role.VOLUNTEER, "vol-0009zz", frozenset({"case-0009zz"})),
    }
    callers = {}
    for name, (role, person, cases) in people.items():
        parts = _volunteer_parts(role, cases)
        callers[name] = Identity(MATRIX_AGENCY, role, person, cases, parts)
        other = _volunteer_parts(role, case)
        callers[f"{name} of {OTHER_AGENCY}"] = Identity(OTHER_AGENCY, role, person, case, other)
    return callers


# The matrix's volunteer and their part in the matrix case (`matrix_callers`).
MATRIX_VOLUNTEER, MATRIX_PART = "vol-0001aa", "support_person"


def _volunteer_parts(role, cases: frozenset[str]) -> frozenset[tuple[str, str]]:
    """A volunteer's part in each of their cases (anyone else has none)."""
    from mend_events.contracts.actors import Role

    if role != Role.VOLUNTEER:
        return frozenset()
    return frozenset((c, MATRIX_PART) for c in cases)


def leaks(allowed: dict[tuple[str, str], bool], expected: dict[str, set[str]]) -> list[str]:
    """(caller, action) pairs allowed although `expected` (action -> callers) does not allow
    them, and those refused although it does: the matrix's report."""
    out = []
    for (caller, action), got in sorted(allowed.items()):
        if got != (caller in expected.get(action, set())):
            out.append(f"{caller} {'may' if got else 'may not'} {action}")
    return out


def matrix_leaks(allowed, actions, expected: dict[str, set[str]]) -> list[str]:
    """`leaks` of `allowed(identity, action)` for every caller of the matrix and each of
    `actions`: the access-matrix test of every service."""
    outcomes = {
        (name, action): allowed(identity, action)
        for name, identity in matrix_callers().items()
        for action in actions
    }
    return leaks(outcomes, expected)


def granted(authorize, identity, action: str, entry, **kwargs) -> bool:
    """Whether a service's `authorize(identity, action, entry, **kwargs)` lets the caller
    through; a refusal must say why."""
    from mend_events.errors import Forbidden

    try:
        authorize(identity, action, entry, **kwargs)
    except Forbidden as exc:
        assert exc.reason
        return False
    return True


def assert_unknown_case_is_404(authorize, actions, person_of) -> None:
    """A case not known to the service is 404 on `case_id` for every caller and action (never
    adopted); `person_of(identity)` is the person the API would ask about."""
    from mend_events.errors import NotFound

    for identity in matrix_callers().values():
        for action in actions:
            try:
                authorize(identity, action, None, person_id=person_of(identity))
            except NotFound as refused:
                assert refused.field == "case_id"
            else:
                raise AssertionError(f"{action} on an unknown case was not refused")
