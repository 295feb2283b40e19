"""The demo cases `make up` shows in the web app (mend_web.demo_cases), against the five
services in process on the real database and broker: the demo agency and accounts made as
`make up` makes them (mend_hub.demo), then the cases opened, allocated to the demo
practitioner and one flagged through the services' APIs; the web app's index (fed through the
broker) puts them in the practitioner's caseload and the flag in their queue. Run again, it
changes nothing; production refuses it."""

from __future__ import annotations

import pytest
from mend_hub.demo import set_up_demo
from mend_testkit.waiting import wait_until
from mend_web.demo_cases import (
    DEMO_AGENCY,
    DemoCasesFailed,
    accounts,
    open_cases,
    set_up_cases,
    signed_in,
)

PRAC = "prac-demo01"


async def test_the_demo_cases_reach_the_demo_practitioners_queue(mend, tmp_path):
    world = mend.world
    operator = world.token("operator", "ops-0001aa", "mend-ops")
    path = tmp_path / "demo-accounts.txt"
    await set_up_demo(world.hub, operator, path, hub_url="http://hub.test", environ={})
    clients = world.app.state.services.clients
    people = accounts(path)  # as set_up_cases signs in (each TOTP step signs in once)
    coordinator = await signed_in(world.hub, people["coordinator"])
    practitioner = await signed_in(world.hub, people["practitioner"])
    ids = await open_cases(clients, coordinator, PRAC, practitioner)
    index = world.app.state.index

    async def queued() -> list:
        return await index.caseload(DEMO_AGENCY, PRAC) == sorted(ids) and [
            i for i in await index.queue(DEMO_AGENCY, PRAC) if i["kind"] == "flag"]  # fmt: skip

    flagged = await wait_until(queued)
    assert [i["case_id"] for i in flagged] == ["case-demo-0001"]
    # Again (`make up` once more): what exists is left as it is.
    before = [await index.search(DEMO_AGENCY), await index.queue(DEMO_AGENCY, PRAC)]
    assert await open_cases(clients, coordinator, PRAC, practitioner) == ids
    assert [await index.search(DEMO_AGENCY), await index.queue(DEMO_AGENCY, PRAC)] == before
    assert await index.caseload(DEMO_AGENCY, PRAC) == sorted(ids)
    with pytest.raises(DemoCasesFailed):
        await set_up_cases(clients, path, environ={"MEND_ENV": "production"})
