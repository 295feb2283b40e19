"""The participant's choices and support over the real services: the harmed person sees and
changes their preferences (pace, forms, who speaks first, updates) through the sessions
service and their choice of progress updates through the aftercare service; the responsible
person is shown none of the harmed person's choices and the services refuse them the forms;
each shows their own after-care. Without the CSRF token nothing changes."""

from __future__ import annotations

from mend_testkit.journeys.case import new_case
from mend_testkit.waiting import wait_until

from .conftest import csrf_of

FORMS = ["letter", "indirect"]


async def _case(mend):
    case = new_case(mend.driver, "web-choices", "the harmed person changes their choices")
    await case.up_to_preparation(FORMS, min_gap_days=7)
    index = mend.world.app.state.index  # the services' events reach it through the broker

    async def indexed() -> bool:
        for person in (case.cast.harmed, case.cast.responsible):
            if case.id not in await index.cases_of("agency-a", person):
                return False
        return True

    await wait_until(indexed, timeout=30)
    return case


async def _prefs(case) -> dict:
    doc = await case.driver.get("sessions", f"/cases/{case.id}", case.facilitator)
    return doc["preferences"]


async def test_the_harmed_person_changes_their_choices_and_the_responsible_person_cannot(mend):
    case = await _case(mend)
    c = case.cast
    hp = await mend.world.signed_in_as("harmed_person", c.harmed)
    page = await hp.get("/me/preferences")
    assert page.status_code == 200, page.text
    assert 'name="min_gap_days" type="number" min="0" max="365" value="7"' in page.text
    assert 'value="letter" checked' in page.text and 'value="indirect" checked' in page.text
    assert 'value="face_to_face">' in page.text  # not chosen
    assert "Messages passed on by your facilitator" in page.text  # indirect's own words
    assert 'id="quick-exit"' in page.text and "<title>Account</title>" in page.text
    csrf = csrf_of(page.text)

    body = {"case": case.id, "min_gap_days": "21", "permitted_forms": ["letter"],
            "speaks_first": c.responsible, "responsible_person_takes_part": "true",
            "invited": [c.responsible]}  # fmt: skip
    assert (await hp.post("/me/preferences", data=body)).status_code == 403  # no CSRF token
    r = await hp.post("/me/preferences", data={**body, "csrf_token": csrf})
    assert (r.status_code, r.headers["location"]) == (303, "/me/preferences?done=saved"), r.text

    async def changed() -> dict | None:
        prefs = await _prefs(case)
        return prefs if prefs["min_gap_days"] == 21 else None

    prefs = await case.driver.eventually("preferences saved", changed)
    assert prefs["permitted_forms"] == ["letter"] and prefs["speaks_first"] == c.responsible
    assert prefs["invited"] == [c.responsible] and prefs["progress_updates"] is False
    assert prefs["responsible_person_takes_part"] is True

    r = await hp.post("/me/updates", data={"case": case.id, "level": "completion_only",
                                           "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    page = await hp.get("/me/preferences?done=updates")
    assert 'value="completion_only" checked' in page.text and "Done." in page.text
    support = await hp.get("/me/support")
    assert support.status_code == 200 and "No updates have been sent to you." in support.text

    # The responsible person: none of the harmed person's choices, and no way to make them.
    # Their account page too, before they take part in any session (the sessions service
    # refuses them the case until then: the page showed "Not available" before).
    rp = await mend.world.signed_in_as("responsible_person", c.responsible)
    account = await rp.get("/me")
    assert account.status_code == 200 and "What you have agreed to" in account.text
    page = await rp.get("/me/preferences")
    assert page.status_code == 200, page.text
    assert 'action="/me/preferences"' not in page.text and "min_gap_days" not in page.text
    assert c.harmed not in page.text and "Tell your facilitator what you need" in page.text
    rp_csrf = csrf_of(page.text)
    r = await rp.post("/me/preferences", data={**body, "min_gap_days": "0", "csrf_token": rp_csrf})
    assert r.status_code == 403
    r = await rp.post("/me/updates", data={"case": case.id, "level": "each_update",
                                           "csrf_token": rp_csrf})  # fmt: skip
    assert r.status_code in (403, 404)
    assert (await _prefs(case))["min_gap_days"] == 21
    support = await rp.get("/me/support")
    assert support.status_code == 200 and "Progress updates" not in support.text
    assert c.harmed not in support.text
