"""A community team conference in the browser: a conference of the case (scheduled under the
harmed person's participation consent) with a community volunteer invited; the harmed person,
signed in with her own account, agrees to the volunteer on her conferences page and signs out;
the facilitator, signed in with his authenticator, sees her word, invites a supporter and records
a meeting the volunteer attended, with its minutes, which the page shows back to him. Every
page: 0 CSP violations, 0 axe violations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver

from tests.browser.stack import PASSPHRASE
from tests.browser.staff import signed_in_practitioner

pytestmark = pytest.mark.browser
CONF, VOL = "conf-browser01", "vol-browser01"
MINUTES = "The volunteer will walk with him to the first programme session."


def _consent_not_there_yet(r: httpx.Response) -> bool:
    return r.status_code == 422 and "consent to take part is not in force" in r.text


async def test_she_agrees_to_a_volunteer_and_the_facilitator_records_a_meeting(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-conference", "a community team conference")
        await case.open()
        await case.choose_facilitator()
        await case.give_consent(case.cast.harmed, "take_part")
        soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        body = {"conference_id": CONF, "starts_at": soon, "zone": "Europe/London",
                "cadence": "monthly"}  # fmt: skip
        base = f"/cases/{case.id}/conferences"
        await driver.post("aftercare", base, body, case.facilitator, step="conference",
                          retry_if=_consent_not_there_yet)  # fmt: skip
        invite = {"member_id": VOL, "member_role": "volunteer"}
        await driver.post("aftercare", f"{base}/{CONF}/members", invite, case.facilitator,
                          step="invite")  # fmt: skip

    # Her word, on her own page.
    await mend.participant(case.cast.harmed, "harmed_person", "conference-hp")
    await mend.cases.add(mend.agency, case.cast.harmed, case.id)
    hers = await checked.page()
    await hers.goto(f"{mend.web}/signin")
    await hers.get_by_label("Organisation code").fill(mend.agency)
    await hers.get_by_label("Login name").fill("conference-hp")
    await hers.get_by_label("Password").fill(PASSPHRASE)
    await hers.get_by_role("button", name="Continue").click()
    await hers.wait_for_url(f"{mend.web}/me")
    await hers.goto(f"{mend.web}/me/conferences")
    await hers.get_by_text("waiting for your word").wait_for()
    await checked.check(hers, "participant-conferences")
    await hers.get_by_role("button", name="I agree they take part").click()
    await hers.get_by_role("status").filter(has_text="They may take part now").wait_for()
    await checked.check(hers)
    await hers.get_by_role("button", name="Sign out").click()
    await hers.wait_for_url(f"{mend.web}/signin")

    page = await signed_in_practitioner(checked, mend, "conference-fac")
    await page.goto(f"{mend.web}/cases/{case.id}/conferences")
    await page.get_by_text("the harmed person agreed").wait_for()
    await checked.check(page, "practitioner-conferences")
    await page.get_by_label("Their pseudonymous id").fill("sup-browser01")
    await page.get_by_label("Their part").select_option("supporter")
    await page.get_by_role("button", name="Invite").click()
    await page.get_by_text("waiting for the harmed person's word").wait_for()
    await page.get_by_label(VOL).check()
    await page.get_by_label("Minutes (sealed)").fill(MINUTES)
    await page.get_by_role("button", name="Record the meeting").click()
    await page.get_by_text(MINUTES).wait_for()
    await checked.check(page, "practitioner-conference-meeting")
