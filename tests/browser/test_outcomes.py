"""Questions for research in the browser (issue 21): without research consent the harmed person
is told plainly that nothing is asked of her; with it she answers her instrument (its questions
as the instrument version words them), is told answering is hers to choose, sends a whole
answer set, and can stop taking part with one click. The practitioner records the agency's
reoffending follow-up once the responsible person agreed. Every page: 0 CSP violations, 0 axe
violations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mend_aftercare.read_models import ConsentFacts
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import LETTER
from mend_testkit.waiting import wait_until

from tests.browser.stack import Stack
from tests.browser.staff import signed_in_practitioner
from tests.browser.test_letters import staff_checked  # noqa: F401 (a fixture)
from tests.browser.test_participant import sign_in

pytestmark = pytest.mark.browser
SURVIVOR = {
    "How safe do you feel in your daily life?": "7",
    "How much do you fear the person who harmed you?": "3",
    "Overall, how are you feeling these days?": "6",
    "How satisfied are you with how the process went for you?": "8",
}
RESEARCH = "outcome_research"


async def aftercare_knows(mend: Stack, case_id: str, person: str) -> None:
    """Until the aftercare service has learnt of the person's research consent (a projection of
    the consent service's events, reached through the broker)."""
    aftercare = next(r for r in mend.runtimes if r.service == "aftercare")
    facts = ConsentFacts(aftercare.schema)

    async def learnt() -> bool:
        async with aftercare.pool.acquire() as conn:
            return await facts.in_force(conn, case_id, person, RESEARCH, datetime.now(UTC))

    await wait_until(learnt, 30)


async def test_research_questions_are_answered_only_under_research_consent(
    mend,
    checked,
    staff_checked,  # noqa: F811
):
    async with Driver.connect(mend.token, urls=mend.urls, allocate=mend.allocate) as driver:
        case = new_case(driver, "browser-outcomes", "questions for research in the browser")
        c = case.cast
        await case.up_to_preparation([LETTER])
        await mend.participant(c.harmed, "harmed_person", "soft-rain")
        await mend.cases.add(mend.agency, c.harmed, case.id)

        hp = await sign_in(checked, mend, "soft-rain")
        await hp.wait_for_url(f"{mend.web}/me")
        await hp.get_by_role("link", name="Questions for research").click()
        await hp.wait_for_url(f"{mend.web}/me/outcomes")
        await hp.get_by_text("You have not agreed to answer questions for research").wait_for()
        assert await hp.get_by_role("button", name="Send my answers").count() == 0
        await checked.check(hp, "participant-outcomes-no-consent")

        await case.give_consent(c.harmed, RESEARCH)
        await aftercare_knows(mend, case.id, c.harmed)
        await hp.reload()
        await hp.get_by_text("Answering is up to you").wait_for()
        await checked.check(hp, "participant-outcomes")
        await hp.get_by_label("Which time you are answering for").select_option("baseline")
        for question, score in SURVIVOR.items():
            group = hp.get_by_role("group", name=question)
            await group.get_by_label(score, exact=True).check()
        await hp.get_by_role("button", name="Send my answers").click()
        await hp.get_by_role("status").filter(has_text="Your answers are kept").wait_for()
        await checked.check(hp)

        # One click stops taking part in research: the consent service withdraws it.
        await hp.get_by_role("button", name="Stop taking part in research").click()
        await hp.get_by_role("status").filter(has_text="You have withdrawn it").wait_for()
        await hp.goto(f"{mend.web}/me/outcomes")
        await hp.get_by_text("You have not agreed to answer questions for research").wait_for()

        # The agency's follow-up about the responsible person, once he agreed.
        await case.give_consent(c.responsible, RESEARCH)
        await aftercare_knows(mend, case.id, c.responsible)
        prac = await signed_in_practitioner(staff_checked, mend, "outcomes-fac")
        await prac.goto(f"{mend.web}/cases/{case.id}")
        await prac.get_by_role("link", name="Outcome follow-up").click()
        await prac.wait_for_url(f"{mend.web}/cases/{case.id}/outcomes")
        await staff_checked.check(prac, "practitioner-outcomes")
        await prac.get_by_label("Follow-up point").select_option("m6")
        known = prac.get_by_role("group", name="Is a new offence known since the last follow-up?")
        await known.get_by_label("none known").check()
        source = prac.get_by_role("group", name="The source this follow-up relies on")
        await source.get_by_label("police record").check()
        await prac.get_by_role("button", name="Record the follow-up").click()  # htmx: the part
        await prac.get_by_role("status").filter(has_text="The follow-up is recorded").wait_for()
        await staff_checked.check(prac)
