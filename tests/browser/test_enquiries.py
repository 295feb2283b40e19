"""Enquiries and support without a case in the browser: a practitioner records an anonymous
enquiry (a reference, no name), offers support with a first check-in, signposts them to
advocacy, and hands the enquirer an activation code; the enquirer opens their own (still
anonymous) account, sees their support plan, chooses to become a registered person, and stops
the plan with one click. Every page: 0 CSP violations, 0 axe violations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.stack import PASSPHRASE
from tests.browser.staff import signed_in_practitioner
from tests.browser.test_participant import sign_in
from tests.browser.test_reminders import staff_checked  # noqa: F401  (the staff's browser)

pytestmark = pytest.mark.browser


async def test_an_anonymous_enquiry_gets_support_which_the_enquirer_stops(
    mend,
    checked,
    staff_checked,  # noqa: F811
):
    prac = await signed_in_practitioner(staff_checked, mend, "enquiries-fac")
    await prac.get_by_role("link", name="Enquiries").click()
    await prac.wait_for_url(f"{mend.web}/enquiries")
    assert "No enquiries yet." in await prac.content()
    await staff_checked.check(prac, "enquiries")
    await prac.get_by_label("Support services").check()
    await prac.get_by_role("button", name="Record the enquiry").click()
    await prac.get_by_role("status").wait_for()
    row = prac.locator("#enquiries tbody tr")
    assert await row.count() == 1
    ref = (await row.locator("td").first.inner_text()).strip()
    assert ref.startswith("enq-")
    await staff_checked.check(prac, "enquiries-listed")

    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    await row.get_by_label("First check-in (optional)").fill(day)
    await row.get_by_role("button", name="Offer support").click()
    await prac.get_by_role("status").wait_for()
    assert await prac.locator("#enquiries td.support").inner_text() == "accepted"
    assert ref in await prac.locator("#support-plans").inner_text()
    plan = prac.locator("#support-plans tbody tr")
    await plan.get_by_label("Signpost to").select_option("advocacy")
    await plan.get_by_role("button", name="Refer").click()
    await prac.get_by_role("status").wait_for()
    assert await prac.locator("#support-plans td.plan-referrals").inner_text() == "1"
    await staff_checked.check(prac, "enquiries-support")
    await prac.get_by_role("button", name="Activation code for them").click()
    await prac.locator("#activation-code").wait_for()
    code = (await prac.locator("#activation-code").inner_text()).strip()
    await staff_checked.check(prac, "enquiry-code")

    # The enquirer opens their own account with the code: still known by the reference only.
    body = {"activation_code": code, "username": "quiet-harbour", "password": PASSPHRASE}
    await mend.hub("/invitations/redeem", body, {})
    page = await sign_in(checked, mend, "quiet-harbour")
    await page.wait_for_url(f"{mend.web}/me")
    await page.goto(f"{mend.web}/me/support")
    await page.locator("#plan-status").wait_for()
    assert day in await page.content()  # the first check-in
    await checked.check(page, "participant-support-plan")
    # Theirs alone: becoming a registered person.
    await page.get_by_role("button", name="Become a registered person").click()
    await page.get_by_role("status").filter(has_text="registered person").wait_for()
    assert "Become a registered person" not in await page.content()
    await page.get_by_role("button", name="Stop my support plan now").click()
    await page.get_by_role("status").filter(has_text="Your support plan has stopped").wait_for()
    assert "Stop my support plan now" not in await page.content()
    await checked.check(page)
