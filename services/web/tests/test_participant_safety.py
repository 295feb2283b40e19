"""A participant's one-click withdrawal (R2) and stop (R3) never wait for the web app's case
index: the index only lists cases for the pages, and a case it has not caught up with yet (a
lagging or rebuilding index) is still the participant's to withdraw from and to stop. The
service that owns the act decides who may do it; someone it refuses sees "not found", and
nothing changes. (Before, the index gated both acts: a participant whose case the index did
not yet list got 404 and her withdrawal was lost; this test failed then.)"""

from __future__ import annotations

from datetime import timedelta

from mend_testkit.journeys.case import new_case
from mend_web.pages import now
from mend_web.participant_cases import KnownCases

F2F = "face_to_face"


async def _csrf(world, browser) -> str:
    raw = browser.cookies.get(world.app.state.settings.cookie_name)
    return (await world.app.state.sessions.load(raw, now())).csrf


async def _scheduled(driver):
    case = new_case(driver, "web-safety", "a participant acts before the index lists her case")
    c = case.cast
    await case.up_to_contact([F2F])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    return case, case.sessions["meeting"]


async def test_withdrawal_and_stop_reach_the_services_when_the_index_lags(mend):
    world = mend.world
    world.app.state.participant_cases = KnownCases()  # the index lists no case at all yet
    case, session = await _scheduled(mend.driver)
    c = case.cast

    # A stranger of the same agency is refused by the services: "not found", nothing halted.
    stranger = await world.signed_in_as("harmed_person", "hp-stranger9")
    token = await _csrf(world, stranger)
    tries = [
        ("/me/withdrawal", {"case": case.id, "scope": f"contact:{F2F}"}),
        ("/me/stop", {"case": case.id, "session": str(session)}),
    ]
    for path, body in tries:
        r = await stranger.post(path, data={**body, "csrf_token": token})
        assert r.status_code == 404, (path, r.status_code)
    assert (await case.session_doc("meeting"))["status"] == "scheduled"

    # The harmed person herself: her withdrawal is taken, and the meeting halted by it.
    harmed = await world.signed_in_as("harmed_person", c.harmed)
    token = await _csrf(world, harmed)
    r = await harmed.post(
        "/me/withdrawal", data={"case": case.id, "scope": f"contact:{F2F}", "csrf_token": token}
    )
    assert (r.status_code, r.headers.get("location")) == (303, "/me?done=withdrawn")

    async def halted():
        doc = await case.session_doc("meeting")
        return doc.get("halt") if doc["status"] == "halted" else None

    halt = await mend.driver.eventually("the meeting halted by her withdrawal", halted)
    assert halt["cause"] == "consent_withdrawn"


async def test_a_participant_stops_a_session_the_index_does_not_list(mend):
    world = mend.world
    world.app.state.participant_cases = KnownCases()
    case, session = await _scheduled(mend.driver)
    harmed = await world.signed_in_as("harmed_person", case.cast.harmed)
    token = await _csrf(world, harmed)
    r = await harmed.post(
        "/me/stop", data={"case": case.id, "session": str(session), "csrf_token": token}
    )
    assert (r.status_code, r.headers.get("location")) == (303, "/me?done=stopped")

    async def halted():
        doc = await case.session_doc("meeting")
        return doc.get("halt") if doc["status"] == "halted" else None

    halt = await mend.driver.eventually("the meeting halted by her", halted)
    assert halt["halted_by_id"] == case.cast.harmed
