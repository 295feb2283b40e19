"""A practitioner's work queue and case search in the browser, read from the web app's case
index (fed through the broker): the consent that lapses soon is in the queue, linking to the
case page; the search finds the case by its id and, through htmx, narrows the results in
place. 0 CSP and 0 axe violations on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.stack import PASSPHRASE

pytestmark = pytest.mark.browser


async def test_a_practitioner_works_from_the_queue_and_finds_a_case(mend, checked):
    lapses = datetime.now(UTC) + timedelta(days=2)  # a consent in the queue: it lapses soon
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "queued", "a case with a consent lapsing soon")
        await case.open()
        await case.choose_facilitator()
        await case.give_consent(case.cast.harmed, "take_part", expires_at=lapses)
    totp = await mend.staff_member(mend.team.facilitator, "dana-facilitator")
    await mend.cases.add(mend.agency, case.cast.harmed, case.id)  # the index has the case

    page = await checked.page()
    await page.goto(f"{mend.web}/signin")
    await page.get_by_label("Organisation code").fill(mend.agency)
    await page.get_by_label("Login name").fill("dana-facilitator")
    await page.get_by_label("Password").fill(PASSPHRASE)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Code").fill(totp.now())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{mend.web}/cases")

    await page.get_by_role("link", name="Work queue").click()
    await page.wait_for_url(f"{mend.web}/queue")
    row = page.get_by_role("row").filter(has_text="Consent lapses")
    await row.get_by_role("link", name=case.id).wait_for()
    await checked.check(page, "practitioner-queue")

    await page.get_by_role("link", name="Find a case").first.click()
    await page.wait_for_url(f"{mend.web}/search")
    await page.get_by_label("Case id starts with").fill(case.id)
    await page.get_by_label("Stage").select_option("consent")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url(f"**/search?q={case.id}*")
    await page.get_by_role("link", name=case.id).wait_for()
    await checked.check(page, "practitioner-search")
    await page.get_by_label("Stage").select_option("closed")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_text("No case matches.").wait_for()
    await checked.check(page)
    assert await page.get_by_role("link", name=case.id).count() == 0
