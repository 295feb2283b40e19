"""Letters through the web app over the real services: the harmed person writes in a running
letter exchange, the facilitator reads and approves it on the case's letters page, she sends
it and the responsible person reads it on his page; a second letter, waiting, is stopped by her
withdrawal and her page says so. Without the CSRF token nothing is written."""

from __future__ import annotations

from mend_testkit.journeys.case import new_case
from mend_testkit.waiting import wait_until

from .conftest import csrf_of

FIRST = "I want you to know what that year took from me."
SECOND = "And one more thing I did not say."


async def _exchange(mend):
    case = new_case(mend.driver, "web-letters", "a letter written, reviewed, sent and read")
    c = case.cast
    await case.up_to_contact(["letter"])
    await case.schedule("letters", "letter", [c.harmed, c.responsible])
    await case.start("letters")
    index = mend.world.app.state.index

    async def indexed() -> bool:
        for person in (c.harmed, c.responsible):
            if case.id not in await index.cases_of("agency-a", person):
                return False
        return True

    await wait_until(indexed, timeout=30)
    return case


async def test_a_letter_is_written_reviewed_sent_read_and_a_withdrawal_stops_the_next(mend):
    case = await _exchange(mend)
    c, session = case.cast, case.sessions["letters"]
    hp = await mend.world.signed_in_as("harmed_person", c.harmed)
    page = await hp.get("/me/letters")
    assert page.status_code == 200 and "Write a letter or message" in page.text, page.text
    csrf = csrf_of(page.text)
    body = {"case": case.id, "session": session, "content": FIRST}
    assert (await hp.post("/me/letters", data=body)).status_code == 403  # no CSRF token
    r = await hp.post("/me/letters", data={**body, "csrf_token": csrf})
    assert (r.status_code, r.headers["location"]) == (303, "/me/letters?done=written"), r.text

    prac = await mend.world.signed_in_as("practitioner", mend.driver.team.facilitator)
    review = await prac.get(f"/cases/{case.id}/letters")
    assert review.status_code == 200 and FIRST in review.text, review.text
    [letter] = [x["letter_id"] for x in await _letters(case)]
    r = await prac.post(f"/cases/{case.id}/letters/{letter}/approve",
                        data={"csrf_token": csrf_of(review.text)})  # fmt: skip
    assert r.status_code == 303, r.text

    page = await hp.get("/me/letters")
    assert "Send it" in page.text
    r = await hp.post("/me/letters/send", data={"case": case.id, "letter": letter,
                                                "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    rp = await mend.world.signed_in_as("responsible_person", c.responsible)
    his = await rp.get("/me/letters")
    assert his.status_code == 200 and FIRST in his.text and "To you" in his.text, his.text

    # A second letter waits with the facilitator; her withdrawal stops it, and says so.
    await hp.post("/me/letters", data={**body, "content": SECOND, "csrf_token": csrf})
    assert SECOND not in (await rp.get("/me/letters")).text
    r = await hp.post("/me/withdrawal", data={"case": case.id, "scope": "contact:letter",
                                              "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text

    async def stopped() -> bool:
        return "Not sent: this was stopped" in (await hp.get("/me/letters")).text

    await wait_until(stopped, timeout=30)
    assert SECOND not in (await rp.get("/me/letters")).text


async def _letters(case) -> list[dict]:
    doc = await case.driver.get("sessions", f"/cases/{case.id}/letters", case.facilitator)
    return doc["letters"]
