"""Support without a case through the web app over the real hub and aftercare: a practitioner
offers a registered person support with a first check-in from the enquiries page and signposts
them to advocacy; the person sees their plan on /me/support and stops it with one click, at
once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .accounts import settled, staffed
from .conftest import csrf_of

A, COORD, PRAC, HP = "agency-a", "coord-aaaa01", "prac-0001aa", "hp-support01"


async def test_a_registered_person_is_offered_support_and_stops_it(world):
    await staffed(world, A, COORD, (PRAC,))
    # Aftercare learns the agency's staff from the hub's topic, a moment after the hub.
    await settled([world.aftercare_runtime], lambda s: (A, PRAC) in s.staff)
    prac = await world.signed_in_as("practitioner", PRAC)
    page = await prac.get("/enquiries")
    assert page.status_code == 200 and "Nobody has a support plan yet." in page.text
    day = (datetime.now(UTC) + timedelta(days=4)).date().isoformat()
    body = {"person_id": HP, "first_check_in": day, "csrf_token": csrf_of(page.text)}
    r = await prac.post("/support", data=body)
    assert (r.status_code, r.headers["location"]) == (303, "/enquiries?done=support"), r.text
    assert HP in (await prac.get("/enquiries")).text
    r = await prac.post(
        f"/support/{HP}/referrals", data={"kind": "advocacy", "csrf_token": body["csrf_token"]}
    )
    assert r.status_code == 303, r.text

    # An enquiry through another agency, its contact person by pseudonymous id: listed.
    enquiry = {"route": "agency", "referring_agency": "agency-b", "contact_person_id": "ref-0007bb",
               "topics": ["safety"], "csrf_token": body["csrf_token"]}  # fmt: skip
    assert (await prac.post("/enquiries", data=enquiry)).status_code == 303
    listed = (await world.hub.get("/enquiries", headers=world.token("practitioner", PRAC))).json()
    assert [(e["referring_agency"], e["contact_person_id"], e["topics"])
            for e in listed["enquiries"]] == [("agency-b", "ref-0007bb", ["safety"])]  # fmt: skip

    hp = await world.signed_in_as("harmed_person", HP)
    mine = await hp.get("/me/support")
    assert mine.status_code == 200 and "Your support plan" in mine.text and day in mine.text
    assert "Advocacy" in mine.text  # the signposting
    r = await hp.post("/me/support/stop", data={"csrf_token": csrf_of(mine.text)})
    assert (r.status_code, r.headers["location"]) == (303, "/me/support?done=stopped")
    after = await hp.get("/me/support?done=stopped")
    assert "Your support plan has stopped" in after.text
    assert "Stop my support plan now" not in after.text
