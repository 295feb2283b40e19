"""A practitioner runs a case through the case page, from opening to a completed conference:
the harmed person opens it, chooses the facilitator and sets her preferences (a conference with
her sister as supporter, without the responsible person), and each participant consents through
their own calls; everything the practitioner does happens in the browser: adding the supporter,
the suitability assessment, a preparation session with each, the full assessment, scheduling,
starting and completing the conference, and recording what was agreed. Then a second
conference is scheduled, the harmed person pauses the case, and the page shows the unmet gate
with its reason and the service's refusal to start it. 0 CSP and 0 axe violations on every
page."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from playwright.async_api import Page

from tests.browser.stack import PATIENCE
from tests.browser.staff import signed_in_practitioner

pytestmark = pytest.mark.browser
CONFERENCE = "conference"


async def _submitted(page: Page, button: str) -> None:
    """Submit through htmx and wait for the case part to be swapped in."""
    async with page.expect_response(lambda r: r.request.method == "POST"):
        await page.get_by_role("button", name=button).click()


async def _until_accepted(page: Page, fill, button: str) -> None:
    """Fill and submit until the service accepts: the sessions service learns of consents and
    assessments over the broker, and refuses (shown on the page) until it has."""
    deadline = time.monotonic() + PATIENCE
    while True:
        await fill()
        await _submitted(page, button)
        if await page.locator("#case-body .error").count() == 0:
            return
        assert time.monotonic() < deadline, await page.locator(
            "#case-body .error"
        ).all_inner_texts()


async def _assess(page: Page, stage: str, signer: str) -> None:
    form = page.locator("form[action$='/assessments']")
    await form.get_by_label("Stage").select_option(stage)
    await form.get_by_label("Protective order").select_option("absent")
    await form.get_by_label("Bail or licence conditions").select_option("absent")
    await form.get_by_label("Decision", exact=True).select_option("proceed")
    await form.get_by_label("conference", exact=True).check()
    await form.get_by_label("Main reason").select_option("suitable_with_safeguards")
    await form.get_by_label("Signed off by (a specialist)").select_option(signer)
    await _submitted(page, "Record assessment")
    assert await page.locator("#case-body .error").count() == 0


async def _pending_reassessments(case, n: int) -> None:
    async def due() -> bool:
        doc = await case.driver.get("risk", f"/cases/{case.id}/risk", case.facilitator)
        return len((doc or {}).get("reassessment_triggers", [])) >= n

    await case.driver.eventually(f"{n} reassessments due", due)


async def test_a_practitioner_runs_a_case_to_a_completed_conference(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "page-conference", "a conference run from the case page")
        c, team = case.cast, driver.team
        await case.open()
        await case.choose_facilitator()
        await case.set_preferences(
            [CONFERENCE], responsible_person_takes_part=False, invited=(c.supporter,)
        )
        page = await signed_in_practitioner(checked, mend, "dana-facilitator")
        await page.goto(f"{mend.web}/cases/{case.id}")
        await checked.check(page, "practitioner-case-opened")

        # The supporter the harmed person invited joins; each gives their own consent.
        enrol = page.locator("form[action$='/participants']")
        await enrol.get_by_label("Person's reference").fill(c.supporter)
        await enrol.get_by_label("Role").select_option("supporter")
        await _submitted(page, "Add participant")
        await case.wait_taking_part(c.supporter)
        for person in (c.harmed, c.supporter):
            await case.give_consents(person, "take_part", f"contact:{CONFERENCE}")
        await case.wait_reassessment_due("facilitator_chosen", "case_stage_changed")

        await page.reload()
        matrix = page.get_by_role("table", name="Each participant's consent in force")
        assert await matrix.get_by_text("Not given").count() == 0
        await _assess(page, "initial", team.survivor_specialist)
        for person, role in ((c.harmed, "harmed_person"), (c.supporter, "supporter")):
            form = page.locator("form[action$='/preparations']")
            await form.get_by_label("Prepared with").select_option(f"{person}:{role}")
            await _submitted(page, "Record preparation")
        await _pending_reassessments(case, 2)
        await _assess(page, "full", team.survivor_specialist)
        # Direct contact waits for a safety plan agreed with her: recorded on the page.
        plan = page.locator("form[action$='/safety-plans']")
        await plan.get_by_label("Agreed with").select_option(c.harmed)
        for ask in ("Separate arrival and departure", "Breaks", "An exit plan"):
            await plan.get_by_label(ask, exact=True).check()
        await _submitted(page, "Record safety plan")
        assert await page.locator("#case-body .error").count() == 0
        await checked.check(page, "practitioner-case-prepared")

        async def schedule() -> None:
            form = page.locator("form[action$='/sessions']")
            await form.get_by_label("Form of contact").select_option(CONFERENCE)
            for person in (c.harmed, c.supporter):
                await form.get_by_label(person, exact=False).check()
            await form.get_by_label(team.survivor_specialist, exact=False).check()
            when = datetime.now(UTC) + timedelta(minutes=10)
            await form.get_by_label("Date (UTC)").fill(when.strftime("%Y-%m-%d"))
            await form.get_by_label("Time (UTC)").fill(when.strftime("%H:%M"))

        await _until_accepted(page, schedule, "Schedule session")
        session = page.locator("ul.sessions > li").first
        await session.get_by_text("scheduled", exact=True).wait_for()
        assert await session.locator(".unmet").count() == 0
        await checked.check(page, "practitioner-case-scheduled")

        async def nothing() -> None:
            return None

        await _until_accepted(page, nothing, "Start this session")
        await session.get_by_text("running", exact=True).wait_for()
        await _submitted(page, "Mark this session completed")
        await session.get_by_text("completed", exact=True).wait_for()
        # What they agreed: the supporter's family arrangement, agreed by both.
        await session.get_by_text("Record an agreement from this session").click()
        await session.get_by_label(f"Commitment of {c.supporter}").select_option(
            "family_arrangement"
        )
        for person in (c.harmed, c.supporter):
            await session.get_by_role("checkbox", name=person).check()
        await _submitted(page, "Record agreement")
        await page.locator("#agreement + ul").get_by_text("family arrangement").wait_for()
        timeline = page.get_by_role("table", name="What happened in this case")
        await timeline.get_by_text("Session completed").wait_for()
        await checked.check(page, "practitioner-case-completed")
        doc = await driver.get("sessions", f"/cases/{case.id}", case.facilitator)
        assert [s["status"] for s in doc["sessions"]] == ["completed"]

        # The agreement changed the case's stage: a reassessment before anything else (R4).
        await _pending_reassessments(case, 1)
        await _assess(page, "full", team.survivor_specialist)
        # A second conference; the harmed person pauses the case: the gate shows why.
        await _until_accepted(page, schedule, "Schedule session")
        await driver.post("sessions", f"/cases/{case.id}/pause", None, case.harmed, step="pause")
        deadline = time.monotonic() + PATIENCE
        while not await page.get_by_text("case is paused", exact=True).count():
            assert time.monotonic() < deadline, "the paused case's gate never showed"
            await page.reload()
        second = page.locator("ul.sessions li", has_text="scheduled").first
        unmet = second.locator(".gates > li", has=page.locator(".unmet"))
        assert "The case is not paused" in await unmet.first.inner_text()
        await _submitted(page, "Start this session")
        assert await page.locator("#case-body .error").count() == 1
        await checked.check(page, "practitioner-case-gate-unmet")
