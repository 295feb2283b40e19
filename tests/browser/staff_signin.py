"""A member of staff signing in through the pages: their account with a TOTP second factor
(the hub checks both), the sign-in page, the code, and their landing page. Each page checked for
0 CSP and 0 axe violations on the way."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.stack import PASSPHRASE


async def signed_in_practitioner(checked, mend, username: str) -> Page:
    """The facilitator's account, and the browser signed in with password and TOTP."""
    totp = await mend.staff_member(mend.team.facilitator, username)
    page = await checked.page()
    await page.goto(f"{mend.web}/signin")
    await checked.check(page)
    await page.get_by_label("Organisation code").fill(mend.agency)
    await page.get_by_label("Login name").fill(username)
    await page.get_by_label("Password").fill(PASSPHRASE)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url(f"{mend.web}/signin/second-factor")
    await checked.check(page, "signin-second-factor")
    await page.get_by_label("Code").fill(totp.now())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{mend.web}/cases")
    return page
