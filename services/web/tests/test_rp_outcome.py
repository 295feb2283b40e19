"""The responsible person declining, through the web app over the real services: the
facilitator records it from the case page; the page says so with the forms offered instead,
and the harmed person's account page offers her the ways forward without him."""

from __future__ import annotations

from mend_testkit.journeys.case import new_case
from mend_testkit.waiting import wait_until

from .conftest import csrf_of


async def test_he_declines_and_she_is_offered_the_ways_forward_without_him(mend):
    case = new_case(mend.driver, "web-declined", "the responsible person declines")
    c = case.cast
    await case.up_to_preparation(["letter", "story_telling", "unsent_letter"])
    prac = await mend.world.signed_in_as("practitioner", mend.driver.team.facilitator)
    page = await prac.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "Record their answer" in page.text, page.text
    r = await prac.post(f"/cases/{case.id}/responsible-person-outcome",
                        data={"outcome": "declined", "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert r.status_code == 303, r.text

    async def recorded() -> bool:
        return "The responsible person declined" in (await prac.get(f"/cases/{case.id}")).text

    await wait_until(recorded, timeout=30)
    index = mend.world.app.state.index

    async def indexed() -> bool:
        return case.id in await index.cases_of("agency-a", c.harmed)

    await wait_until(indexed, timeout=30)
    hp = await mend.world.signed_in_as("harmed_person", c.harmed)
    account = await hp.get("/me")
    offered = account.text.split("Ways forward without the other person")[1].split("</ul>")[0]
    assert "Telling your story" in offered and "Writing a letter that is not sent" in offered
    assert "Exchanging letters" not in offered
