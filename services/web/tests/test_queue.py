"""The work queue and case search over the case index, fed through the real broker by the
five services: a case walked to contact, halted by the harmed person and flagged, then
allocated by the hub's coordinator, lands in the index with what each service said; the
allocated practitioner's queue lists its due items soonest first, linking to the case page,
and no other practitioner's does."""

from __future__ import annotations

from datetime import timedelta

from mend_testkit.journeys.case import new_case
from mend_testkit.waiting import wait_until

from .accounts import staffed

A, COORD, OTHER = "agency-a", "coord-q00001", "prac-q00002"
F2F = "face_to_face"


async def test_events_of_each_service_land_in_the_index_and_the_queue_shows_them(mend):
    driver, world = mend.driver, mend.world
    case = new_case(driver, "web-queue", "a case in a practitioner's work queue")
    c = case.cast
    await case.up_to_contact([F2F])  # sessions, consent, risk
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.halt("meeting", c.harmed)  # sessions; aftercare offers after-care (R2)
    await case.raise_flag("low", "other")  # risk: an unresolved flag
    fac = driver.team.facilitator
    # The hub (onboarded only now: the journey's callers are the driver's development ones).
    await staffed(world, A, COORD, (fac, OTHER))
    r = await world.hub.post(f"/cases/{case.id}/allocations", json={"practitioner_id": fac},
                             headers=world.token("coordinator", COORD, A))  # fmt: skip
    assert r.status_code == 201, r.text

    index = world.app.state.index

    async def entry() -> dict | None:
        found = await index.search(A, practitioner_id=fac)
        hit = [f for f in found if f["case_id"] == case.id]
        return hit[0] if hit and "flag_open" in hit[0]["gates"] else None

    hit = await wait_until(entry)
    assert hit["stage"] == "aftercare" and hit["harm_category"] == "sexual_assault"
    assert "risk_decision_missing" not in hit["gates"] and "consent_missing" not in hit["gates"]
    assert case.id in await index.cases_of(A, c.harmed)  # a participant's cases

    me = await world.signed_in_as("practitioner", fac, A)
    page = await me.get("/queue")
    assert page.status_code == 200 and f'href="/cases/{case.id}"' in page.text
    assert "Risk flag unresolved" in page.text
    found = await me.get("/search", params={"q": case.id[:8], "stage": "aftercare",
                                           "due": "true"})  # fmt: skip
    assert found.status_code == 200 and f'href="/cases/{case.id}"' in found.text
    fragment = await me.get("/search", params={"stage": "closed"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and case.id not in fragment.text
    bad = await me.get("/search", params={"stage": "nonsense"}, headers={"accept": "text/html"})
    assert bad.status_code == 422 and "nonsense" not in bad.text

    other = await world.signed_in_as("practitioner", OTHER, A)
    for path in ("/queue", "/search"):
        r = await other.get(path)
        assert r.status_code == 200 and case.id not in r.text
    coordinator = await world.signed_in_as("coordinator", COORD, A)
    assert case.id in (await coordinator.get("/search")).text
    assert (await coordinator.get("/queue")).status_code == 403
