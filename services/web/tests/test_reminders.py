"""Reminders and notices through the web app over the real hub: the harmed person sees she
receives no reminders, opts in with an e-mail address and the hours she allows, and stops them
with one click; the hub records each choice. A practitioner's notices page shows what the hub
told them (a halt on their case), and a participant never reaches it. Without the CSRF token
nothing changes."""

from __future__ import annotations

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import HaltCause, SessionHalted
from mend_testkit.samples import delivered

from .accounts import open_and_allocate, staffed
from .conftest import csrf_of

A, COORD, PRAC, HP, CASE = "agency-a", "coord-aaaa01", "prac-0001aa", "hp-remind01", "case-rem0001"


async def test_she_opts_into_reminders_and_stops_them_and_staff_read_their_notices(world):
    await staffed(world, A, COORD, (PRAC,))
    coordinator = world.token("coordinator", COORD, A)
    r = await world.hub.post("/people", json={"person_id": HP}, headers=coordinator)
    assert r.status_code == 201, r.text
    hp = await world.signed_in_as("harmed_person", HP)
    page = await hp.get("/me/reminders")
    assert page.status_code == 200 and "You receive no reminders." in page.text, page.text
    csrf = csrf_of(page.text)
    body = {"route": "new", "address": "hp-remind01@example.test", "earliest_hour": "9",
            "latest_hour": "18"}  # fmt: skip
    assert (await hp.post("/me/reminders", data=body)).status_code == 403  # no CSRF token
    r = await hp.post("/me/reminders", data={**body, "csrf_token": csrf})
    assert (r.status_code, r.headers["location"]) == (303, "/me/reminders?done=chosen"), r.text
    mine = world.token("harmed_person", HP, A)
    choice = (await world.hub.get("/reminders", headers=mine)).json()
    assert choice["opted_in"] and (choice["earliest_hour"], choice["latest_hour"]) == (9, 18)
    assert choice["kinds"] == ["session"] and choice["timezone"] == "UTC"  # the agency's
    page = await hp.get("/me/reminders?done=chosen")
    assert "between 9:00 and 18:00" in page.text and "Stop all reminders now" in page.text
    # Support check-ins too, on her own clock.
    again = {**body, "route": choice["route_id"], "kinds": ["session", "check_in"],
             "timezone": "America/New_York", "csrf_token": csrf}  # fmt: skip
    assert (await hp.post("/me/reminders", data=again)).status_code == 303
    choice = (await world.hub.get("/reminders", headers=mine)).json()
    assert choice["kinds"] == ["check_in", "session"] and choice["timezone"] == "America/New_York"
    assert "(America/New_York)" in (await hp.get("/me/reminders")).text
    assert "hp-remind01@example.test" not in page.text  # the address is not shown back
    r = await hp.post("/me/reminders/stop", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    assert not (await world.hub.get("/reminders", headers=mine)).json()["opted_in"]
    assert "You receive no reminders." in (await hp.get("/me/reminders")).text

    # A halt on the practitioner's case: the hub tells them; their page shows it.
    await open_and_allocate(world, A, CASE, "hp-remind02", PRAC)
    halt = SessionHalted(
        session_id="sess-0001",
        halted_by_id="hp-remind02",
        halted_by_role=Role.HARMED_PERSON,
        cause=HaltCause.PARTICIPANT_HALT,
    )
    event = delivered("sessions", CASE, halt, actor="hp-remind02")
    await world.hub_app.state.notify.session_halted(event, halt)
    await world.hub_runtime.settle()
    prac = await world.signed_in_as("practitioner", PRAC)
    notices = await prac.get("/notices")
    assert notices.status_code == 200 and "A session was halted" in notices.text, notices.text
    assert f'href="/cases/{CASE}"' in notices.text
    assert (await hp.get("/notices")).status_code == 403
