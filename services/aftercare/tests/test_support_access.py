"""Support plans' access policy as a matrix: every role, two agencies, strangers. The agency's
practitioners (allocated to any case or not: a support plan has no case) do the work; its
coordinators and auditors read; the person themself reads, opens and stops their own plan;
nobody else, and nobody of the other agency."""

from __future__ import annotations

from mend_aftercare import support
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_testkit.matrix import matrix_callers, matrix_leaks

CALLERS = matrix_callers()
AGENCY = CALLERS["coordinator"].agency


def _of(*roles: Role) -> set[str]:
    return {n for n, i in CALLERS.items() if i.role in roles and i.agency == AGENCY}


PRACTITIONERS = _of(Role.PRACTITIONER)
READERS = _of(Role.PRACTITIONER, Role.COORDINATOR, Role.AUDITOR)
OWN = {"harmed person"}  # the caller whose person id the plan is for
EXPECTED = {
    support.LIST: READERS,
    support.READ: READERS | OWN,
    support.OPEN: PRACTITIONERS | OWN,
    support.CLOSE: PRACTITIONERS | OWN,
    support.CASEWORK: PRACTITIONERS,
}


def test_each_action_for_each_caller_on_a_plan_of_agency_a() -> None:
    subject = CALLERS["harmed person"].person_id

    def allowed(identity, action: str) -> bool:
        if identity.agency != AGENCY:
            # The plan's stream is the caller's agency's: another agency reaches its own
            # stream of that id, never this one.
            return False
        try:
            support.authorize(identity, action, None if action == support.LIST else subject)
        except Forbidden:
            return False
        return True

    assert matrix_leaks(allowed, sorted(EXPECTED), EXPECTED) == []
