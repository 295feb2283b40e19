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


def callers() -> dict[str, Identity]:
    out = dict(matrix_callers())
    for name, person in (("volunteer", VOL), ("volunteer not yet agreed to", VOL_PENDING),
                         ("stranger volunteer", VOL_STRANGER)):  # fmt: skip
        out[name] = Identity(MATRIX_AGENCY, Role.VOLUNTEER, person, frozenset())
        out[f"{name} of {OTHER_AGENCY}"] = Identity(OTHER_AGENCY, Role.VOLUNTEER, person)
    return out


# The conference: the harmed person agreed to the volunteer and to the case's supporter (as a
# community member); the pending volunteer is invited, not agreed to. The supporter attended
# the meeting whose minutes are asked for; the volunteer did not.
CONFERENCE = {
    "harmed_person_id": MATRIX_HP,
    "taking_part": {VOL: "volunteer", MATRIX_SUP: "supporter"},
    "attendees": (MATRIX_HP, MATRIX_SUP),
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
