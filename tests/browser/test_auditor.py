"""An auditor in the browser: signs in (password and TOTP), finds a case by its id, reads its
history (the halt linked to the withdrawal that caused it) and the state as of a moment chosen
with the date and time picker, then the halts and the verification. 0 CSP and 0 axe
violations on every page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.staff import staff_sign_in

pytestmark = pytest.mark.browser
LETTER, AUDITOR = "letter", "aud-0001bb"


async def test_an_auditor_reads_a_case_history_and_its_state_as_of_a_moment(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "audited", "a withdrawal halts a planned letter exchange")
        c = case.cast
        await case.up_to_contact([LETTER])
        await case.schedule("letters", LETTER, [c.harmed, c.responsible])
        await case.withdraw(c.harmed, f"contact:{LETTER}")
        await case.wait_halted("letters", "withdrawn", "consent_withdrawn")
    coordinator = mend.headers("coordinator", mend.team.coordinator)
    body = {"person_id": AUDITOR, "role": "auditor"}
    await mend.hub(f"/agencies/{mend.agency}/staff", body, coordinator)
    await mend.trusted("the auditor", lambda trust: (mend.agency, AUDITOR) in trust.staff)
    totp = await mend.staff_member(AUDITOR, "dana-auditor")

    page = await staff_sign_in(checked, mend, "dana-auditor", totp)

    await page.wait_for_url(f"{mend.web}/audit")
    await checked.check(page, "auditor-lookup")
    await page.get_by_label("Case id").fill(case.id)
    await page.get_by_role("button", name="Show the case").click()
    await page.wait_for_url(f"{mend.web}/audit/cases/{case.id}")
    halted = page.locator('#timeline tr[data-type="SessionHalted"]')
    await halted.get_by_role("link", name="ConsentWithdrawn").wait_for()
    await checked.check(page, "auditor-case-history")

    # The picker: a second before the withdrawal was recorded, the case had no halt.
    withdrawn = page.locator('#timeline tr[data-type="ConsentWithdrawn"] td').nth(1)
    at = datetime.fromisoformat(await withdrawn.inner_text()) - timedelta(seconds=1)
    await page.get_by_label("Date and time (UTC)").fill(at.strftime("%Y-%m-%dT%H:%M:%S"))
    await page.get_by_role("button", name="Show the case as of then").click()
    await page.wait_for_url("**as_of=*")
    await page.get_by_role("link", name="Show the case as recorded now").wait_for()
    assert await page.locator('#timeline tr[data-type="ConsentWithdrawn"]').count() == 0
    assert await page.locator('#timeline tr[data-type="SessionHalted"]').count() == 0
    # The same moment back in the picker (a browser normalises 12:02:00 to 12:02: compare
    # instants, not spellings; this failed whenever the moment fell on a whole minute).
    shown = await page.get_by_label("Date and time (UTC)").input_value()
    assert datetime.fromisoformat(shown) == at.replace(microsecond=0, tzinfo=None)
    await checked.check(page, "auditor-case-as-of")

    await page.get_by_role("link", name="Halts and withdrawals").first.click()
    await page.wait_for_url(f"{mend.web}/audit/halts")
    await page.get_by_role("link", name=case.id).first.wait_for()
    await checked.check(page, "auditor-halts")
    await page.get_by_role("link", name="Verification").click()
    await page.wait_for_url(f"{mend.web}/audit/verify")
    await page.get_by_text("Every hash chain holds.").wait_for()
    await checked.check(page, "auditor-verify")
