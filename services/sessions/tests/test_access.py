"""The sessions service's access policy as a matrix: who may address a case for what, over
every role, two agencies and strangers of the same agency (issue 14, items 1 and 2). The
domain refuses further within a case (e.g. only the session's facilitator starts it)."""

from __future__ import annotations

from functools import partial

import pytest
from mend_events.errors import Forbidden, NotFound
from mend_events.security.cases import authorize_case
from mend_events.security.identity import Identity
from mend_sessions.access import POLICY, authorize
from mend_testkit.matrix import (
    MATRIX_HP,
    MATRIX_RP,
    MATRIX_SUP,
    granted,
    matrix_callers,
    matrix_entry,
    matrix_leaks,
)

IN_SESSION = frozenset({MATRIX_HP, MATRIX_RP})
PRAC = "allocated practitioner"

# Case actions -> callers allowed (everyone else, and every caller of the other agency, is
# refused). The supporter is a member of the case but not in the session.
CASE_MATRIX = {
    "lead.facilitator": {"harmed person"},
    "lead.preferences": {"harmed person"},
    "case.pause": {"harmed person", PRAC},
    "case.resume": {"harmed person", PRAC},
    "case.close": {"harmed person", PRAC},
    "case.prepare": {PRAC},
    "case.enrol": {PRAC, "coordinator"},
    "case.read": {"harmed person", PRAC, "auditor"},
    "session.schedule": {"harmed person", PRAC},
    "session.start": {PRAC},
    "session.complete": {PRAC},
    "session.agree": {PRAC},
    "session.halt": {"harmed person", "responsible person", PRAC},
    "session.read": {"harmed person", "responsible person", PRAC, "auditor"},
    # the contact gates' reasons name other participants' consent: staff only
    "session.gates.read": {PRAC, "auditor"},
    # letters: the session's parties write (the domain: only the author); its practitioners
    # review; the auditor lists their states but never opens their text
    "session.letter.write": {"harmed person", "responsible person", PRAC},
    "session.letter.review": {PRAC},
    "session.letter.list": {"harmed person", "responsible person", PRAC, "auditor"},
    "session.letter.open": {"harmed person", "responsible person", PRAC},
    # case notes: the allocated team; a participant opens one shared with them (`participants`:
    # its sharing, here both parties), the auditor lists but never opens
    "case.rp_outcome": {PRAC},
    "case.note.write": {PRAC},
    "case.note.share": {PRAC},
    "case.note.list": {
        "harmed person",
        "responsible person",
        "supporter",
        "institution rep",
        PRAC,
        "auditor",
    },  # members: only the notes shared with them
    "case.note.open": {"harmed person", "responsible person", PRAC},
    # meetings: the allocated practitioner arranges any, the harmed person her own preparation
    # (the domain checks whose); the people a meeting is for (`participants`) answer and call
    # it off; every member lists (only the meetings they are for), the auditor without places
    "session.meeting.arrange": {"harmed person", PRAC},
    "session.meeting.respond": {"harmed person", "responsible person", PRAC},
    "session.meeting.cancel": {"harmed person", "responsible person", PRAC},
    "session.meeting.list": {
        "harmed person",
        "responsible person",
        "supporter",
        "institution rep",
        PRAC,
        "auditor",
        # a volunteer allocated as a support person: the times and arrangements of the
        # meetings that ask for one (meetings.py); nothing else of the case
        "allocated volunteer",
    },
    # the harmed person's own items: hers; the allocated team lists and opens what she shares
    # (the practitioner's write passes the policy, baseline `case.*`: the domain refuses it,
    # since only the item's owner writes); the auditor lists, never opens
    "case.material.write": {"harmed person", PRAC},
    "case.material.list": {"harmed person", PRAC, "auditor"},
    "case.material.open": {"harmed person", PRAC},
}
# Actions before a case exists, or on no case (the caller's own agency).
NO_CASE_MATRIX = {
    "case.open": {"harmed person", PRAC, "unallocated practitioner", "coordinator"},
    "case.invite": {"supporter", "institution rep", PRAC, "unallocated practitioner",
                    "coordinator", "stranger supporter", "stranger institution rep",
                    "responsible person as supporter"},  # a supporter's token, no case yet
    # a referral: whoever may refer, or the harmed person of herself (person_id: her)
    "referral.record": {"harmed person", "supporter", "institution rep", PRAC,
                        "unallocated practitioner", "coordinator", "stranger supporter",
                        "stranger institution rep", "responsible person as supporter"},
    "referral.outcome": {PRAC, "unallocated practitioner", "coordinator"},
    "registry.register": {"coordinator"},
    "registry.list": {"harmed person", "stranger harmed person", PRAC,
                      "unallocated practitioner", "coordinator", "auditor"},
}  # fmt: skip


def on_case(identity: Identity, action: str) -> bool:
    """As the API asks (api.on_case): on the case opened in agency A."""
    return granted(
        partial(authorize_case, POLICY),
        identity,
        action,
        matrix_entry(),
        person_id=MATRIX_HP,
        participants=IN_SESSION,
    )


def no_case(identity: Identity, action: str) -> bool:
    person = MATRIX_HP if action in ("case.open", "referral.record") else None
    try:
        authorize(identity, action, case_id=None, agency=None, person_id=person)
    except Forbidden:
        return False
    return True


@pytest.mark.parametrize("action", sorted(CASE_MATRIX))
def test_case_matrix_two_agencies_and_strangers_has_no_leaks(action: str) -> None:
    # One test per action, so a leak names its action; each covers every caller.
    assert matrix_leaks(on_case, [action], {action: CASE_MATRIX[action]}) == []


@pytest.mark.parametrize("action", sorted(NO_CASE_MATRIX))
def test_no_case_matrix(action: str) -> None:
    # Here each agency acts in its own right: the other agency's callers mirror agency A's.
    who = NO_CASE_MATRIX[action]
    expected = {action: who | {f"{w} of agency-b" for w in who}}
    assert matrix_leaks(no_case, [action], expected) == []


def test_a_case_not_opened_is_404() -> None:
    for identity in matrix_callers().values():
        with pytest.raises(NotFound):
            authorize_case(POLICY, identity, "case.read", None, person_id=identity.person_id)


def test_the_supporter_member_halts_only_a_session_they_take_part_in() -> None:
    supporter = matrix_callers()["supporter"]
    assert not on_case(supporter, "session.halt")
    authorize_case(
        POLICY,
        supporter,
        "session.halt",
        matrix_entry(),
        person_id=MATRIX_HP,
        participants=IN_SESSION | {MATRIX_SUP},
    )


def test_a_letter_opens_only_for_the_participants_it_names() -> None:
    """`participants` is the letter's readers (api.letter): its author, and the recipient only
    once it was delivered."""
    callers = matrix_callers()
    for who, allowed in (("harmed person", True), ("responsible person", False)):
        assert (
            granted(
                partial(authorize_case, POLICY),
                callers[who],
                "session.letter.open",
                matrix_entry(),
                person_id=MATRIX_HP,
                participants=frozenset({MATRIX_HP}),
            )
            is allowed
        )
