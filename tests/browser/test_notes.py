"""Case notes in the browser: the facilitator, signed in with his authenticator, writes a note
on the case's notes page and opens it on its own page (the read recorded). Every page: 0 CSP
violations, 0 axe violations."""

from __future__ import annotations

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.staff import signed_in_practitioner

pytestmark = pytest.mark.browser
TEXT = "She would like her sister with her at the next meeting."


async def test_the_facilitator_writes_and_opens_a_case_note(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-notes", "a case note through the browser")
        await case.open()
        await case.choose_facilitator()
    page = await signed_in_practitioner(checked, mend, "notes-fac")
    await page.goto(f"{mend.web}/cases/{case.id}/notes")
    await page.get_by_text("No notes yet.").wait_for()
    await checked.check(page, "practitioner-notes")
    await page.get_by_label("Note", exact=True).fill(TEXT)
    await page.get_by_role("button", name="Save the note").click()
    await page.wait_for_url(f"{mend.web}/cases/{case.id}/notes?done=written")
    await page.get_by_role("link", name="preparation").click()
    await page.get_by_text(TEXT).wait_for()
    assert "This reading is recorded." in await page.content()
    await checked.check(page, "practitioner-note")
