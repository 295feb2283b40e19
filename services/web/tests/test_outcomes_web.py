"""Outcome instruments through the web app over the real services (issue 21): the harmed person
is told plainly that nothing is asked of her without research consent; with it she answers her
instrument (questions from its definition), is asked for what she left out, and an answer for a
time already answered is kept as first given. The practitioner records the agency's reoffending
follow-up only once the responsible person's research consent is in force."""

from __future__ import annotations

from mend_testkit.journeys.case import new_case
from mend_testkit.waiting import wait_until

from .conftest import csrf_of

SURVIVOR = {"item-safety": "6", "item-fear": "4", "item-wellbeing": "5", "item-satisfaction": "8"}
FOLLOW_UP = {"item-known_reoffence": "none_known", "item-source": "probation_or_prison"}
NO_CONSENT = "You have not agreed to answer questions for research"


async def test_answers_only_under_research_consent_and_never_overwritten(mend):
    case = new_case(mend.driver, "web-outcomes", "outcome instruments through the web app")
    c = case.cast
    await case.up_to_preparation(["letter"])
    index = mend.world.app.state.index

    async def indexed() -> bool:
        return case.id in await index.cases_of("agency-a", c.harmed)

    await wait_until(indexed, timeout=30)
    hp = await mend.world.signed_in_as("harmed_person", c.harmed)
    page = await hp.get("/me/outcomes")
    assert page.status_code == 200 and NO_CONSENT in page.text
    assert "Send my answers" not in page.text

    await case.give_consent(c.harmed, "outcome_research")
    page = await hp.get("/me/outcomes")
    assert NO_CONSENT not in page.text
    assert "How safe do you feel in your daily life?" in page.text  # the instrument's words
    assert "Stop taking part in research" in page.text
    form = {"csrf_token": csrf_of(page.text), "case": case.id,
            "instrument": "survivor-outcomes@1", "point": "baseline"}  # fmt: skip

    # Left out: asked again by the question's own words; nothing is sent to the service.
    partial = {k: v for k, v in SURVIVOR.items() if k != "item-fear"}
    r = await hp.post("/me/outcomes", data={**form, **partial})
    assert r.status_code == 422 and "How much do you fear the person" in r.text

    async def answered() -> bool:  # once the aftercare service has learnt of her consent
        r = await hp.post("/me/outcomes", data={**form, **SURVIVOR})
        assert r.status_code in (303, 422), r.text
        return r.status_code == 303

    await wait_until(answered, timeout=30)
    again = await hp.post("/me/outcomes", data={**form, **SURVIVOR, "item-fear": "9"})
    assert again.status_code == 422 and "You have already answered for that time" in again.text

    # The practitioner's follow-up: not without his research consent, then recorded once.
    prac = await mend.world.signed_in_as("practitioner", mend.driver.team.facilitator)
    page = await prac.get(f"/cases/{case.id}/outcomes")
    assert page.status_code == 200 and "has not agreed to outcome research" in page.text
    await case.give_consent(c.responsible, "outcome_research")
    page = await prac.get(f"/cases/{case.id}/outcomes")
    assert "Is a new offence known since the last follow-up?" in page.text
    follow_up = {"csrf_token": csrf_of(page.text), "instrument": "reoffending-followup@1",
                 "point": "m6", **FOLLOW_UP}  # fmt: skip

    async def recorded() -> bool:
        r = await prac.post(f"/cases/{case.id}/outcomes", data=follow_up)
        assert r.status_code in (303, 422), r.text
        return r.status_code == 303

    await wait_until(recorded, timeout=30)
    # With htmx: the follow-up part alone, the refusal in it (a point is never changed).
    changed = {**follow_up, "item-known_reoffence": "non_sexual"}
    r = await prac.post(f"/cases/{case.id}/outcomes", data=changed,
                        headers={"HX-Request": "true"})  # fmt: skip
    assert r.status_code == 200 and r.text.lstrip().startswith('<section id="followup"')
    assert 'role="alert"' in r.text and "<html" not in r.text
