"""Who may do what with a case's community team conferences, as a matrix: every role, two
agencies, strangers of the same agency, and community volunteers (invited and agreed to, invited
and not yet agreed to, strangers, of the other agency). A member reaches only the conference
the harmed person agreed to have them at, and its minutes only of a meeting they attended."""

from __future__ import annotations

from mend_aftercare import access
from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    MATRIX_CASE,
    MATRIX_HP,
    MATRIX_SUP,
    OTHER_AGENCY,
    assert_unknown_case_is_404,
    granted,
    leaks,
    matrix_callers,
    matrix_entry,
)

VOL, VOL_PENDING, VOL_STRANGER = "vol-0001aa", "vol-0002aa", "vol-0009zz"
VOL_UNVETTED = "vol-0003aa"  # agreed to by her, but the hub has not allocated them (vetting)
AS_MEMBER = frozenset({(MATRIX_CASE, "conference_member")})


def callers() -> dict[str, Identity]:
    """The matrix's callers (whose "allocated volunteer" is VOL allocated as a support person,
    not as a conference member), and volunteers allocated by the hub as conference members."""
    out = dict(matrix_callers())
    case = frozenset({MATRIX_CASE})
    for name, person, parts in (
        ("volunteer", VOL, AS_MEMBER),
        ("volunteer not yet agreed to", VOL_PENDING, AS_MEMBER),
        ("stranger volunteer", VOL_STRANGER, frozenset()),
        ("volunteer agreed to, not allocated by the hub", VOL_UNVETTED, frozenset()),
    ):
        out[name] = Identity(MATRIX_AGENCY, Role.VOLUNTEER, person, case if parts else frozenset(),
                             parts)  # fmt: skip
        out[f"{name} of {OTHER_AGENCY}"] = Identity(OTHER_AGENCY, Role.VOLUNTEER, person)
    return out


# The conference: the harmed person agreed to the volunteer and to the case's supporter (as a
# community member); the pending volunteer is invited, not agreed to. The supporter attended
# the meeting whose minutes are asked for; the volunteer did not.
CONFERENCE = {
    "harmed_person_id": MATRIX_HP,
    "taking_part": {VOL: "volunteer", VOL_UNVETTED: "volunteer", MATRIX_SUP: "supporter"},
    "attendees": (MATRIX_HP, MATRIX_SUP, VOL_UNVETTED),
}
# Another conference of the same case, which nobody of the community was agreed into.
OTHER_CONFERENCE = {"harmed_person_id": MATRIX_HP, "taking_part": {}, "attendees": (MATRIX_HP,)}

TEAM = {"allocated practitioner", "coordinator"}
READERS = TEAM | {"auditor", "harmed person"}
EXPECTED = {
    access.CONF_MANAGE: TEAM,
    access.CONF_RECORD: {"allocated practitioner"},
    access.CONF_ANSWER: {"harmed person", "allocated practitioner"},
    access.CONF_LIST: READERS | {"volunteer", "supporter"},
    access.CONF_READ: READERS | {"volunteer", "supporter"},
    access.CONF_MINUTES: {"allocated practitioner", "harmed person", "supporter"},
}
EXPECTED_OTHER = {
    **EXPECTED,
    access.CONF_LIST: READERS,
    access.CONF_READ: READERS,
    access.CONF_MINUTES: {"allocated practitioner", "harmed person"},
}


def outcomes(resource: dict) -> dict[tuple[str, str], bool]:
    entry = matrix_entry()
    return {
        (name, action): granted(access.authorize_conference, identity, action, entry, **resource)
        for name, identity in callers().items()
        for action in access.CONFERENCE_ACTIONS
    }


def test_matrix_on_a_conference_with_community_members_has_no_leaks() -> None:
    assert leaks(outcomes(CONFERENCE), EXPECTED) == []


def test_a_member_never_reaches_another_conference_of_the_case() -> None:
    assert leaks(outcomes(OTHER_CONFERENCE), EXPECTED_OTHER) == []


def test_a_case_not_known_here_is_404_for_everyone() -> None:
    assert_unknown_case_is_404(
        access.authorize_conference, access.CONFERENCE_ACTIONS, lambda identity: None
    )
