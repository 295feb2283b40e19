"""The hub's pure domain: agencies (`agency:<id>` streams), staff (`staff:<person>`) and a
case's allocations (the case id's stream); `decide` and `evolve` for all three; no I/O, no clock.

`state` (the records and their fold), `decide` (the rules and the `decider`)."""

from mend_hub.domain.decide import decider, require_active_agency
from mend_hub.domain.state import (
    AgencyState,
    Allocation,
    CaseAllocations,
    HubState,
    Qualifications,
    StaffState,
)

__all__ = [
    "AgencyState",
    "Allocation",
    "CaseAllocations",
    "HubState",
    "Qualifications",
    "StaffState",
    "decider",
    "require_active_agency",
]
