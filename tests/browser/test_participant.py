"""A participant in the browser (issue 17): signed in with their own account (the activation
code a practitioner's invitation gave them), they see what they agreed to, withdraw it with one
click (no reason asked), are told at once, and see the session halted when the sessions service
reports it. The quick exit leaves no way back. Every page: 0 CSP violations, 0 axe violations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import F2F, LETTER

from tests.browser.stack import PASSPHRASE, Stack

pytestmark = pytest.mark.browser

NEUTRAL = "https://www.bbc.co.uk/weather"
STORAGE = "[localStorage.length, sessionStorage.length]"


async def sign_in(
    checked, mend: Stack, username: str, password: str = PASSPHRASE, *, clock: bool = False
):
    page = await checked.page()
    if clock:  # the page's timers under the test's control (the idle warning)
        await page.clock.install()
    await page.goto(f"{mend.web}/signin")
    await checked.check(page, "signin")
    await page.get_by_label("Organisation code").fill(mend.agency)
    await page.get_by_label("Login name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Continue").click()
    return page


async def test_a_participant_withdraws_consent_and_sees_the_session_halted(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser", "a participant withdraws through the web app")
        c = case.cast
        await case.up_to_contact([F2F], min_gap_days=14)
        await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
        await mend.participant(c.harmed, "harmed_person", "river-stone")
        await mend.cases.add(mend.agency, c.harmed, case.id)

        page = await sign_in(checked, mend, "river-stone")
        await page.wait_for_url(f"{mend.web}/me")
        assert await page.title() == "Account"
        meeting = page.locator(f'li[data-session="{case.sessions["meeting"]}"]')
        assert await meeting.get_attribute("data-status") == "scheduled"
        await checked.check(page, "participant-account")

        # One click, no reason asked: the confirmation at once, the halt when it has happened.
        await page.get_by_role("button", name="Withdraw: Meeting face to face").click()
        await page.get_by_role("status").filter(has_text="You have withdrawn it").wait_for()
        await checked.check(page)
        session = case.sessions["meeting"]
        halted = page.locator(f'li[data-session="{session}"][data-status="halted"]')
        await halted.wait_for(timeout=30_000)  # htmx polls every 2 s until sessions reports it
        assert "Stopped" in await halted.inner_text()
        await checked.check(page, "participant-session-halted")
        # What the page showed is the sessions service's record: halted by the withdrawal (R2).
        record = await case.session_doc("meeting")
        assert record is not None and record["status"] == "halted"
        assert record["halt"]["cause"] == "consent_withdrawn"

        # The responsible person's page: their own consents and the session they were in, and
        # nothing of the harmed person's (the services filter; the page adds nothing).
        await mend.participant(c.responsible, "responsible_person", "north-road")
        await mend.cases.add(mend.agency, c.responsible, case.id)
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{mend.web}/signin")
        theirs = await sign_in(checked, mend, "north-road")
        await theirs.wait_for_url(f"{mend.web}/me")
        await theirs.locator(f'li[data-session="{session}"][data-status="halted"]').wait_for()
        html = await theirs.content()
        assert c.harmed not in html
        withdraw = theirs.get_by_role("button", name="Withdraw: Meeting face to face")
        assert await withdraw.count() == 1  # the responsible person's own consent, still given
        await checked.check(theirs, "responsible-person-account")


async def opened_case(mend: Stack) -> str:
    """A case opened by its harmed person, who chose their facilitator (allocated by the hub):
    a practitioner invites only participants of their own cases."""
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "opened", "a case just opened")
        await case.open()
        await case.choose_facilitator()
    await mend.cases.add(mend.agency, case.cast.harmed, case.id)
    return case.cast.harmed


async def test_the_quick_exit_leaves_no_way_back(mend, checked):
    await mend.participant(await opened_case(mend), "harmed_person", "quiet-harbour")
    page = await sign_in(checked, mend, "quiet-harbour", clock=True)
    await page.wait_for_url(f"{mend.web}/me")
    await checked.check(page)

    # The idle warning (WCAG 2.2.1) comes before the visit ends and extends it.
    warning = page.get_by_role("alertdialog")
    assert not await warning.is_visible()
    await page.clock.fast_forward("28:30")
    await warning.wait_for()
    await checked.check(page, "participant-idle-warning")
    await page.get_by_role("button", name="Stay signed in").click()
    await warning.wait_for(state="hidden")

    assert await page.evaluate(STORAGE) == [0, 0]  # nothing kept in the tab
    for _ in range(3):
        await page.keyboard.press("Shift")
    await page.wait_for_url(NEUTRAL)
    await page.evaluate("history.back()")
    await page.wait_for_load_state("load")
    # Back reaches at most the sign-in page, never the account: its entry was replaced, and the
    # quick exit ended the visit, so the account answers with the sign-in page.
    assert page.url != f"{mend.web}/me"
    await page.goto(f"{mend.web}/me")
    assert page.url == f"{mend.web}/signin"
    assert await page.locator("h1").inner_text() == "Sign in"
    assert await page.evaluate(STORAGE) == [0, 0]

    # The button does the same.
    page = await sign_in(checked, mend, "quiet-harbour")
    await page.wait_for_url(f"{mend.web}/me")
    await page.get_by_role("link", name="Leave this site quickly").click()
    await page.wait_for_url(NEUTRAL)
    await page.evaluate("history.back()")
    await page.wait_for_load_state("load")
    assert page.url != f"{mend.web}/me"


async def test_a_wrong_passphrase_is_refused_plainly(mend, checked):
    await mend.participant(await opened_case(mend), "harmed_person", "green-field")
    page = await sign_in(checked, mend, "green-field", "not the passphrase at all")
    await page.get_by_role("alert").wait_for()
    assert "Sign-in failed" in await page.get_by_role("alert").inner_text()
    assert page.url == f"{mend.web}/signin"
    await checked.check(page)


async def test_a_participant_stops_a_session_with_one_click(mend, checked):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "stop", "a participant stops a letter exchange")
        c = case.cast
        await case.up_to_contact([LETTER])
        await case.schedule("letters", LETTER, [c.harmed, c.responsible])
        await mend.participant(c.harmed, "harmed_person", "bright-lane")
        await mend.cases.add(mend.agency, c.harmed, case.id)

        page = await sign_in(checked, mend, "bright-lane")
        await page.wait_for_url(f"{mend.web}/me")
        await page.get_by_role("button", name="Stop this session: Exchanging letters").click()
        await page.get_by_role("status").filter(has_text="You have stopped the session").wait_for()
        session = case.sessions["letters"]
        await page.locator(f'li[data-session="{session}"][data-status="halted"]').wait_for()
        await checked.check(page)
        record = await case.session_doc("letters")
        assert record is not None and record["status"] == "halted"
        assert (record["halt"]["cause"], record["halt"]["halted_by_id"]) == (
            "participant_halt",
            c.harmed,
        )
