"""Letters in the browser: in a running letter exchange the harmed person writes a letter on
her letters page; the facilitator, signed in with his authenticator, reads it on the case's
letters page and returns it with a reason and a note; she sees both, revises it, he approves,
and she sends it. Every page: 0 CSP violations, 0 axe violations."""

from __future__ import annotations

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import LETTER

from tests.browser.conftest import AXE, RECORD_CSP, Checked
from tests.browser.staff import signed_in_practitioner
from tests.browser.test_participant import sign_in

pytestmark = pytest.mark.browser
FIRST = "I want you to know what happened to me after that summer."
SECOND = "I want you to know what that summer took from me."
NOTE = "Let us leave out the name of the town."


@pytest.fixture
async def staff_checked(browser):
    """The facilitator's own browser context beside hers (one sign-in per context)."""
    context = await browser.new_context(viewport={"width": 1000, "height": 800})
    await context.add_init_script(RECORD_CSP)
    await context.add_init_script(path=str(AXE))
    try:
        yield Checked(context)
    finally:
        await context.close()


async def test_a_letter_is_written_returned_revised_approved_and_sent(mend, checked, staff_checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-letters", "a letter through the browser")
        c = case.cast
        await case.up_to_contact([LETTER])
        await case.schedule("letters", LETTER, [c.harmed, c.responsible])
        await case.start("letters")
        await mend.participant(c.harmed, "harmed_person", "quiet-harbour")
        await mend.cases.add(mend.agency, c.harmed, case.id)

        hp = await sign_in(checked, mend, "quiet-harbour")
        await hp.wait_for_url(f"{mend.web}/me")
        await hp.get_by_role("link", name="Letters and messages").click()
        await hp.wait_for_url(f"{mend.web}/me/letters")
        await checked.check(hp, "participant-letters")
        await hp.get_by_label("Write a letter or message").fill(FIRST)
        await hp.get_by_role("button", name="Give it to my facilitator to read").click()
        await hp.get_by_role("status").filter(has_text="Your facilitator will read it").wait_for()
        await checked.check(hp)

        prac = await signed_in_practitioner(staff_checked, mend, "letters-fac")
        await prac.goto(f"{mend.web}/cases/{case.id}/letters")
        await prac.get_by_text(FIRST).wait_for()
        await staff_checked.check(prac, "practitioner-letters")
        await prac.get_by_label("Return to the author because").select_option("identifying_details")
        await prac.get_by_label("A note for the author (only they read it)").fill(NOTE)
        await prac.get_by_role("button", name="Return it").click()
        await prac.get_by_text("returned").first.wait_for()

        await hp.reload()
        await hp.get_by_text(NOTE).wait_for()
        assert "could identify or locate someone" in await hp.content()
        await hp.get_by_label("Change your letter").fill(SECOND)
        await hp.get_by_role("button", name="Give it to my facilitator to read").first.click()
        await hp.get_by_role("status").wait_for()

        await prac.reload()
        await prac.get_by_text(SECOND).wait_for()
        await prac.get_by_role("button", name="Approve").click()
        await prac.get_by_text("approved").first.wait_for()
        await staff_checked.check(prac)

        await hp.reload()
        await hp.get_by_role("button", name="Send it", exact=True).click()
        await hp.get_by_role("status").filter(has_text="It has been delivered").wait_for()
        await checked.check(hp, "participant-letter-sent")
        [letter] = (await driver.get("sessions", f"/cases/{case.id}/letters",
                                     case.facilitator))["letters"]  # fmt: skip
        assert letter["status"] == "delivered" and letter["drafts"] == 2
