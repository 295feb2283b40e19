"""A member of staff signs in through the pages: organisation, login name and password, then the
code of their authenticator (TOTP), as the hub checks them; each page checked for 0 CSP and 0
axe violations on the way."""

from __future__ import annotations

import pyotp
from playwright.async_api import Page

from tests.browser.stack import PASSPHRASE, Stack


async def staff_sign_in(checked, mend: Stack, username: str, totp: pyotp.TOTP) -> Page:
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
    return page


async def signed_in_practitioner(checked, mend: Stack, username: str) -> Page:
    """The facilitator's account, and the browser signed in on their case list."""
    totp = await mend.staff_member(mend.team.facilitator, username)
    page = await staff_sign_in(checked, mend, username, totp)
    await page.wait_for_url(f"{mend.web}/cases")
    return page
