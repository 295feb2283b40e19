"""Reminders and notices in the browser: a participant, signed in with her own account, sees
she receives no reminders, opts in with an e-mail address and the hours she allows, and stops
them with one click; the facilitator's notices page. Every page: 0 CSP violations, 0 axe
violations."""

from __future__ import annotations

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.conftest import AXE, RECORD_CSP, Checked
from tests.browser.staff import signed_in_practitioner
from tests.browser.test_participant import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
async def staff_checked(browser):
    context = await browser.new_context(viewport={"width": 1000, "height": 800})
    await context.add_init_script(RECORD_CSP)
    await context.add_init_script(path=str(AXE))
    try:
        yield Checked(context)
    finally:
        await context.close()


async def test_she_opts_into_reminders_and_stops_them_at_once(mend, checked, staff_checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-reminders", "she opts into reminders and stops them")
        await case.open()
        await case.choose_facilitator()  # allocated: the facilitator may invite her
    hp = case.cast.harmed
    coordinator = mend.headers("coordinator", mend.team.coordinator)
    await mend.hub("/people", {"person_id": hp}, coordinator)
    await mend.participant(hp, "harmed_person", "evening-lamp")
    page = await sign_in(checked, mend, "evening-lamp")
    await page.wait_for_url(f"{mend.web}/me")
    await page.get_by_role("link", name="Reminders").click()
    await page.wait_for_url(f"{mend.web}/me/reminders")
    assert "You receive no reminders." in await page.content()
    await checked.check(page, "participant-reminders")
    await page.get_by_label("E-mail address").fill("evening-lamp@example.test")
    await page.get_by_label("Not before (hour of the day)").select_option("18")
    await page.get_by_label("Not after (hour of the day)").select_option("21")
    await page.get_by_role("button", name="Save my reminders").click()
    await page.get_by_role("status").filter(has_text="You will be reminded").wait_for()
    assert "between 18:00 and 21:00" in await page.content()
    await checked.check(page, "participant-reminders-chosen")
    await page.get_by_role("button", name="Stop all reminders now").click()
    await page.get_by_role("status").filter(has_text="No more reminders").wait_for()
    assert "You receive no reminders." in await page.content()
    await checked.check(page)

    prac = await signed_in_practitioner(staff_checked, mend, "notices-fac")
    await prac.get_by_role("link", name="Notices").click()
    await prac.wait_for_url(f"{mend.web}/notices")
    await staff_checked.check(prac, "practitioner-notices")
