"""A practitioner in the browser: signs in with password and TOTP (the hub checks both), sees
their cases (the hub's allocations) and opens one. 0 CSP and 0 axe violations on every page."""

from __future__ import annotations

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.staff import signed_in_practitioner

pytestmark = pytest.mark.browser


async def test_a_practitioner_signs_in_and_sees_their_cases(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "listed", "a case allocated to the facilitator")
        await case.open()
        await case.choose_facilitator()
    page = await signed_in_practitioner(checked, mend, "carol-facilitator")
    link = page.get_by_role("link", name=case.id)
    await link.wait_for()
    await checked.check(page, "practitioner-cases")
    await link.click()
    await page.wait_for_url(f"{mend.web}/cases/{case.id}")
    await checked.check(page, "practitioner-case")
