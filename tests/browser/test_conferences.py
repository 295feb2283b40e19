"""A community team conference in the browser: the facilitator, signed in with his
authenticator, finds the case's conference (scheduled under the harmed person's participation
consent), invites a community volunteer and records a meeting with its minutes, which the page
shows back to him. Every page: 0 CSP violations, 0 axe violations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.staff import signed_in_practitioner

pytestmark = pytest.mark.browser
MINUTES = "The volunteer will walk with him to the first programme session."


def _consent_not_there_yet(r: httpx.Response) -> bool:
    return r.status_code == 422 and "consent to take part is not in force" in r.text


async def test_the_facilitator_records_a_conference_meeting(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-conference", "a community team conference")
        await case.open()
        await case.choose_facilitator()
        await case.give_consent(case.cast.harmed, "take_part")
        soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        body = {"conference_id": "conf-browser01", "starts_at": soon, "zone": "Europe/London",
                "cadence": "monthly"}  # fmt: skip
        await driver.post("aftercare", f"/cases/{case.id}/conferences", body, case.facilitator,
                          step="conference", retry_if=_consent_not_there_yet)  # fmt: skip
    page = await signed_in_practitioner(checked, mend, "conference-fac")
    await page.goto(f"{mend.web}/cases/{case.id}/conferences")
    await page.get_by_text("Conference conf-browser01").wait_for()
    await checked.check(page, "practitioner-conferences")
    await page.get_by_label("Their pseudonymous id").fill("vol-browser01")
    await page.get_by_label("Their part").select_option("volunteer")
    await page.get_by_role("button", name="Invite").click()
    await page.get_by_text("waiting for the harmed person's word").wait_for()
    await page.get_by_label("Minutes (sealed)").fill(MINUTES)
    await page.get_by_role("button", name="Record the meeting").click()
    await page.get_by_text(MINUTES).wait_for()
    await checked.check(page, "practitioner-conference-meeting")
