"""Halting a session from the case page: one click, no reason asked, through the sessions
service with the practitioner's own token (htmx swaps the session's part of the page; without
script the form posts and the page reloads). Without the CSRF token nothing happens."""

from __future__ import annotations

from datetime import timedelta

from mend_testkit.journeys.case import new_case

from .conftest import csrf_of

F2F = "face_to_face"


async def halted(case, label: str) -> dict:
    """The session as the sessions service shows it once its case view has the halt (the
    view is a projection: it catches up a moment after the command)."""

    async def done() -> dict | None:
        doc = await case.session_doc(label)
        return doc if doc and doc["status"] == "halted" else None

    return await case.driver.eventually(f"{label} halted", done)


async def _meeting_scheduled(mend, name: str, title: str):
    """A case at the contact stage with a face-to-face meeting scheduled in three days."""
    case = new_case(mend.driver, name, title)
    c = case.cast
    await case.up_to_contact([F2F])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    return case


async def test_the_halt_button_halts_the_session_and_a_missing_csrf_token_changes_nothing(mend):
    driver = mend.driver
    case = await _meeting_scheduled(
        mend, "web-halt", "a practitioner halts a scheduled meeting from the page"
    )
    c = case.cast
    await case.schedule("second", F2F, [c.harmed, c.responsible], at=timedelta(days=4))
    meeting, second = case.sessions["meeting"], case.sessions["second"]
    browser = await mend.world.signed_in_as("practitioner", driver.team.facilitator)

    page = await browser.get(f"/cases/{case.id}")
    assert page.status_code == 200, page.text
    assert page.text.count("Halt this session") == 2
    assert f'id="session-{meeting}"' in page.text
    assert "Every participant&#39;s consent covers this form" in page.text  # the gates, met
    assert "Not met" not in page.text
    halt = f"/cases/{case.id}/sessions/{meeting}/halt"

    # Without the token, or with another one: refused, and the session is still scheduled.
    assert (await browser.post(halt, headers={"HX-Request": "true"})).status_code == 403
    forged = {"HX-Request": "true", "X-CSRF-Token": "x" * 43}
    assert (await browser.post(halt, headers=forged)).status_code == 403
    assert (await case.session_doc("meeting"))["status"] == "scheduled"

    # htmx: the session's fragment comes back, halted; the sessions service says so.
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(page.text)}
    r = await browser.post(halt, headers=headers)
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith(f'<li id="session-{meeting}">') and "<html" not in r.text
    assert "The session is halted." in r.text and "Halt this session" not in r.text
    doc = await halted(case, "meeting")
    assert doc["halt"]["halted_by_id"] == driver.team.facilitator
    assert doc["halt"]["cause"] == "practitioner_halt"

    # Without script: the plain form, then the case page again.
    body = {"csrf_token": csrf_of(page.text)}
    r = await browser.post(f"/cases/{case.id}/sessions/{second}/halt", data=body)
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{case.id}#session-{second}")
    assert (await halted(case, "second"))["halt"]["halted_by_id"] == driver.team.facilitator


async def test_an_unmet_gate_is_shown_with_its_reason(mend):
    driver = mend.driver
    case = await _meeting_scheduled(
        mend, "web-gates", "the harmed person pauses the case after scheduling"
    )
    c = case.cast
    hp = driver.auth("harmed_person", c.harmed)
    assert (await mend.world.sessions.post(f"/cases/{case.id}/pause", headers=hp)).is_success
    browser = await mend.world.signed_in_as("practitioner", driver.team.facilitator)
    page = await browser.get(f"/cases/{case.id}")
    assert page.status_code == 200, page.text
    unmet = page.text.split('<span class="unmet">Not met</span>')
    assert len(unmet) == 2, page.text  # exactly one gate unmet: the case's own
    assert "The case is not paused" in unmet[1].split("</li>")[0]
    assert "<li>case is paused</li>" in unmet[1]
    assert page.text.count('<span class="met">Met</span>') == 7  # the safety plan's among them
