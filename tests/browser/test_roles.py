"""The harmed person's choices and support, and the coordinator's caseloads and agency report, in
the browser: each page with 0 CSP and 0 axe violations; the harmed person changes the pace
with the form and the sessions service holds it; the coordinator sees the facilitator's case
and the report hides small numbers, and enrols a community volunteer."""

from __future__ import annotations

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import LETTER

from tests.browser.staff import staff_sign_in
from tests.browser.test_participant import sign_in

pytestmark = pytest.mark.browser


async def test_the_harmed_person_changes_the_pace_and_sees_their_support(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "choices", "the harmed person changes the pace in the browser")
        await case.up_to_preparation([LETTER], min_gap_days=7)
        await mend.participant(case.cast.harmed, "harmed_person", "still-water")
        await mend.cases.add(mend.agency, case.cast.harmed, case.id)

        page = await sign_in(checked, mend, "still-water")
        await page.wait_for_url(f"{mend.web}/me")
        await page.get_by_role("link", name="Your choices").click()
        await page.wait_for_url(f"{mend.web}/me/preferences")
        gap = page.get_by_label("Days to wait at least between sessions")
        assert await gap.input_value() == "7"
        await checked.check(page, "participant-choices")
        await gap.fill("14")
        await page.get_by_role("button", name="Save my choices").click()
        await page.get_by_role("status").filter(has_text="Your choices are saved").wait_for()
        await checked.check(page)

        async def saved() -> bool:
            doc = await driver.get("sessions", f"/cases/{case.id}", case.facilitator)
            return doc["preferences"]["min_gap_days"] == 14 or None

        await driver.eventually("the new pace", saved)
        await page.get_by_role("link", name="Your support").click()
        await page.wait_for_url(f"{mend.web}/me/support")
        await page.get_by_role("heading", name="Progress updates").wait_for()
        await checked.check(page, "participant-support")


async def test_a_coordinator_reads_caseloads_and_the_agency_report(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "caseload", "a case allocated to the facilitator")
        await case.open()
        await case.choose_facilitator()
    totp = await mend.staff_member(mend.team.coordinator, "erin-coordinator")

    page = await staff_sign_in(checked, mend, "erin-coordinator", totp)
    await page.wait_for_url(f"{mend.web}/staff")

    await page.get_by_role("link", name="Caseloads").click()
    await page.wait_for_url(f"{mend.web}/caseloads")
    row = page.locator(f'tr[data-person="{mend.team.facilitator}"]')
    await row.get_by_role("link", name=case.id).wait_for()
    await checked.check(page, "coordinator-caseloads")
    await page.get_by_role("link", name="Agency report").click()
    await page.wait_for_url(f"{mend.web}/reports")
    assert "fewer than 5" in await page.locator("#casework").inner_text()
    await checked.check(page, "coordinator-report")
    await page.get_by_role("link", name="Rule pack").click()
    await page.wait_for_url(f"{mend.web}/rules")
    assert "england-wales@1" in await page.locator("#in-force").inner_text()
    await checked.check(page, "coordinator-rules")
    # Community volunteers (issue 21): enrolled with the form, then listed with what each
    # part still needs.
    await page.get_by_role("link", name="Volunteers").click()
    await page.wait_for_url(f"{mend.web}/volunteers")
    await checked.check(page, "coordinator-volunteers")
    await page.get_by_label("Their pseudonymous id").fill("vol-browser01")
    await page.get_by_role("button", name="Enrol").click()
    await page.get_by_role("status").filter(has_text="The volunteer is enrolled").wait_for()
    # The hub's staff list is its projection: the new volunteer is listed once it has caught up.
    for _ in range(100):
        if await page.locator("table").count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    assert "background check missing" in await page.locator("table").inner_text()
    await checked.check(page)
