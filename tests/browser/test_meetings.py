"""Meetings and her own words in the browser (issue 20): the harmed person writes a question
she wants answered, shares it with her facilitator and offers it as a letter; the facilitator
sees the safety plan agreed, arranges the face-to-face session's meeting with the plan's
arrangements and a place, and reads her shared words; she sees the meeting at its time in the
zone she picks, with its place, and says she can come. Every page: 0 CSP violations, 0 axe
violations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import F2F, LETTER

from tests.browser.staff import signed_in_practitioner
from tests.browser.test_letters import staff_checked  # noqa: F401 (a fixture)
from tests.browser.test_participant import sign_in

pytestmark = pytest.mark.browser
WHY = "Why did you choose me, that night at the station?"
PLACE = "The quiet room, second floor, side entrance"


async def test_a_meeting_with_its_safety_plan_and_her_own_words(mend, checked, staff_checked):  # noqa: F811
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-meetings", "a meeting and her own words in the browser")
        c = case.cast
        await case.up_to_contact([LETTER, F2F])  # the full assessment comes with a safety plan
        await case.schedule("letters", LETTER, [c.harmed, c.responsible])
        await case.start("letters")
        await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
        await mend.participant(c.harmed, "harmed_person", "still-water")
        await mend.cases.add(mend.agency, c.harmed, case.id)

        hp = await sign_in(checked, mend, "still-water")
        await hp.wait_for_url(f"{mend.web}/me")
        await hp.get_by_role("link", name="Your own words").click()
        await hp.wait_for_url(f"{mend.web}/me/materials")
        await checked.check(hp, "participant-materials")
        await hp.get_by_label("What it is").select_option("question")
        await hp.get_by_label("Write it in your own words").fill(WHY)
        await hp.get_by_role("button", name="Keep it for me").click()
        await hp.get_by_role("status").filter(has_text="kept for you only").wait_for()
        await hp.get_by_role("button", name="Share it with my facilitator").click()
        await hp.get_by_role("status").filter(has_text="can read it now").wait_for()
        await hp.get_by_role("button", name="Send it as a letter").click()
        await hp.get_by_text("With your facilitator to read").wait_for()
        await checked.check(hp)

        prac = await signed_in_practitioner(staff_checked, mend, "meetings-fac")
        await prac.goto(f"{mend.web}/cases/{case.id}/meetings")
        await prac.get_by_text("Agreed with the harmed person").wait_for()
        session = case.sessions["meeting"]
        await prac.get_by_label("For", exact=True).select_option(f"session:{session}")
        await prac.get_by_label("Channel").select_option("in_person")
        await prac.get_by_label("Place, or how to join").fill(PLACE)
        for ask in ("You arrive and leave separately", "Breaks whenever you need one",
                    "Your support person is with you"):  # fmt: skip
            await prac.get_by_label(ask).check()
        await prac.get_by_role("button", name="Arrange it").click()
        await prac.get_by_text(PLACE).wait_for()
        await staff_checked.check(prac, "practitioner-meetings")
        await prac.goto(f"{mend.web}/cases/{case.id}/materials")
        await prac.get_by_text(WHY).wait_for()
        await staff_checked.check(prac, "practitioner-materials")

        await hp.goto(f"{mend.web}/me/meetings?tz=America/New_York")
        await hp.get_by_text(PLACE).wait_for()
        assert "(America/New_York)" in await hp.content()
        await checked.check(hp, "participant-meetings")
        await hp.get_by_role("button", name="I can come").click()
        await hp.get_by_text("You said you can come.").wait_for()
        await checked.check(hp)
        doc = await driver.get("sessions", f"/cases/{case.id}/meetings", case.facilitator)
        [meeting] = doc["meetings"]
        assert meeting["availability"] == {c.harmed: True} and meeting["timezone"]
        reads = await driver.get("sessions", f"/cases/{case.id}/materials", case.facilitator)
        assert reads["materials"][0]["reads"] >= 1  # the facilitator's opening, recorded
