"""A community volunteer's own page (issue 21) over the real hub and sessions services: the
case they support with their part, and of its meetings only those asking for a support person,
with when and how but never the place; nothing once their allocation ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mend_events.contracts.catalog.hub import REQUIRED_TRAINING, VolunteerPart
from mend_testkit.directory import open_case
from mend_testkit.hub import COORD_A, PRAC_1

from .accounts import settled, staffed

A, CASE, HP, VOL = "agency-a", "case-volweb01", "hp-volweb01", "vol-volweb01"


async def _ready_volunteer(world, coord: dict) -> None:
    hub, today = world.hub, datetime.now(UTC).date()
    r = await hub.post(f"/agencies/{A}/staff", json={"person_id": VOL, "role": "volunteer"},
                       headers=coord)  # fmt: skip
    assert r.status_code == 201, r.text
    for check in ("background_check", "references"):
        body = {"check": check, "outcome": "clear", "checked_on": today.isoformat(),
                "valid_until": (today + timedelta(days=90)).isoformat()}  # fmt: skip
        r = await hub.post(f"/agencies/{A}/staff/{VOL}/vetting", json=body, headers=coord)
        assert r.status_code == 201, r.text
    for course in REQUIRED_TRAINING[VolunteerPart.SUPPORT_PERSON]:
        body = {"course": str(course), "completed_on": today.isoformat()}
        r = await hub.post(f"/agencies/{A}/staff/{VOL}/training", json=body, headers=coord)
        assert r.status_code == 201, r.text


async def test_a_support_volunteer_sees_their_case_and_the_meetings_asking_for_them(world):
    await staffed(world, A, COORD_A, (PRAC_1,))
    coord = world.token("coordinator", COORD_A, A)
    body = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    hp = world.token("harmed_person", HP, A)
    assert (await world.sessions.post(f"/cases/{CASE}/open", json=body, headers=hp)).is_success
    await open_case(world.hub_runtime, CASE, HP, agency=A)
    r = await world.hub.post(f"/cases/{CASE}/allocations", json={"practitioner_id": PRAC_1},
                             headers=coord)  # fmt: skip
    assert r.status_code == 201, r.text
    await _ready_volunteer(world, coord)
    r = await world.hub.post(f"/cases/{CASE}/volunteers", headers=coord,
                             json={"volunteer_id": VOL, "part": "support_person"})  # fmt: skip
    assert r.status_code == 201, r.text
    both = [world.hub_runtime, world.sessions_runtime]
    await settled(both, lambda s: CASE in s.cases_of(A, PRAC_1) and CASE in s.cases_of(A, VOL))
    chosen = {"practitioner_id": PRAC_1}
    r = await world.sessions.post(f"/cases/{CASE}/facilitator", json=chosen, headers=hp)
    assert r.status_code == 201, r.text
    prac = world.token("practitioner", PRAC_1, A)
    place = "Canary-Place-3w: the quiet room at Thornbury Centre"
    at = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    for meeting, support in (("meet-vol001", True), ("meet-vol002", False)):
        body = {"meeting_id": meeting, "purpose": "preparation", "with_id": HP,
                "at": at.isoformat(), "timezone": "Europe/London", "channel": "in_person",
                "place": place, "arrangements": {"support_person_present": support}}  # fmt: skip
        r = await world.sessions.post(f"/cases/{CASE}/meetings", json=body, headers=prac)
        assert r.status_code == 201, r.text

    browser = await world.signed_in_as("volunteer", VOL, A)
    page = await browser.get("/volunteering")
    assert page.status_code == 200, page.text
    section = page.text.split(f'data-case="{CASE}"')[1].split("</section>")[0]
    assert "support person" in section and at.strftime("%Y-%m-%d %H:%M") in section
    assert section.count("<tr><td>") == 1  # only the meeting that asks for a support person
    assert "Thornbury" not in page.text and HP not in page.text
    for other in (f"/cases/{CASE}", "/staff", f"/cases/{CASE}/meetings", "/queue"):
        assert (await browser.get(other)).status_code == 403, other

    # Their allocation ended: the case is gone from their page.
    r = await world.hub.post(f"/cases/{CASE}/volunteers/{VOL}/end", json={"reason": "other"},
                             headers=coord)  # fmt: skip
    assert r.status_code == 201, r.text
    await world.hub_runtime.settle()
    page = await browser.get("/volunteering")
    assert CASE not in page.text and "You are not allocated to a case now." in page.text
