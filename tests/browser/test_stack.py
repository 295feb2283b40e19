"""The running stack's own promises to the journeys that drive it (the browser tests, the
soak): an allocation through the hub returns only once every case service trusts it."""

from __future__ import annotations

from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver


async def test_an_allocation_returns_once_every_case_service_trusts_it(mend):
    """The practitioner's next request is refused (403) by a service whose trust model has not
    yet taken the allocation in: the letters journey failed on it, now and then, under load."""
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "stack-allocation", "an allocation every service trusts")
        await case.open()  # the hub allocates the team's facilitator
        for runtime in mend.runtimes:
            if runtime.service == "hub":
                continue
            snapshot = await runtime.trust.current()
            facilitator = driver.team.facilitator
            assert case.id in snapshot.cases_of(mend.agency, facilitator), runtime.service
