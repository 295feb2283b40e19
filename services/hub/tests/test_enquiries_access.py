"""The enquiries' access policy as a matrix: every role, two agencies, strangers. Staff who
take enquiries (the agency's coordinators and practitioners, allocated or not: an enquiry comes
before any case) do everything but become the enquirer; the enquirer alone (a participant
whose person id is the enquiry's reference) reads their own enquiry and chooses to register;
nobody of the other agency, no auditor, operator or other participant reaches it."""

from __future__ import annotations

from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_hub.enquiries import policy
from mend_testkit.matrix import matrix_callers, matrix_leaks

CALLERS = matrix_callers()
AGENCY = CALLERS["coordinator"].agency
STAFF = {
    n
    for n, i in CALLERS.items()
    if i.role in (Role.PRACTITIONER, Role.COORDINATOR) and i.agency == AGENCY
}
ENQUIRER = {"harmed person"}  # the caller whose person id is the enquiry's reference
EXPECTED = {
    policy.RECORD: STAFF,
    policy.LIST: STAFF,
    policy.READ: STAFF | ENQUIRER,
    policy.WRITE: STAFF,
    policy.READ_CONTACT: STAFF,
    policy.REGISTER: ENQUIRER,
}


def test_each_action_for_each_caller_on_an_enquiry_of_agency_a() -> None:
    ref = CALLERS["harmed person"].person_id

    def allowed(identity, action: str) -> bool:
        try:
            policy.authorize(identity, action, agency=AGENCY, ref=ref)
        except Forbidden:
            return False
        return True

    assert matrix_leaks(allowed, sorted(EXPECTED), EXPECTED) == []
