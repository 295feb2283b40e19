"""The reminders' and notices' access policy as a matrix: every role, two agencies, strangers.
Each route acts on the caller's own record only (a reminder choice is its person's; a notice
list its practitioner's or coordinator's), so every participant reaches their own choice and
staff their own notices, and nobody reaches anyone else's."""

from __future__ import annotations

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import Forbidden
from mend_hub.notify.api import POLICY, authorize
from mend_testkit.matrix import matrix_callers, matrix_leaks

CALLERS = matrix_callers()
PARTICIPANTS = {n for n, i in CALLERS.items() if i.role in PARTICIPANT_ROLES}
STAFF = {n for n, i in CALLERS.items() if i.role in (Role.PRACTITIONER, Role.COORDINATOR)}
EXPECTED = {
    "reminders.read": PARTICIPANTS,
    "reminders.choose": PARTICIPANTS,
    "reminders.stop": PARTICIPANTS,
    "notices.list": STAFF,
}


def _own(identity, action: str) -> bool:
    try:
        authorize(identity, action)
    except Forbidden:
        return False
    return True


def test_each_route_for_each_caller_on_their_own_record() -> None:
    assert matrix_leaks(_own, sorted(EXPECTED), EXPECTED) == []


def test_nobody_reaches_another_persons_choice_or_notices() -> None:
    def someone_elses(identity, action: str) -> bool:
        other = {"agency": identity.agency, "person_id": "hp-someone1"}
        return POLICY.decide(identity, action, other).allowed

    assert matrix_leaks(someone_elses, sorted(EXPECTED), {}) == []


def test_another_agencys_record_of_the_same_id_is_not_theirs() -> None:
    hp = CALLERS["harmed person"]
    record = {"agency": "agency-b", "person_id": hp.person_id}
    assert not POLICY.decide(hp, "reminders.read", record).allowed
