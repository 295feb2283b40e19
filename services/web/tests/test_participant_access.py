"""The participant pages' authorization matrix: every page, fragment and action of /me for each
role, in two agencies, and for strangers of the same agency (participants of another case).
Staff are refused (403), the anonymous are sent to sign in, a participant reaches only their own
cases (another case is 404, and the services are never asked, except for a withdrawal or a stop,
which the owning service decides: test_participant_safety.py), and every action needs the
session's CSRF token. The case's own participants acting on it: tests/browser."""

from __future__ import annotations

import pytest
from mend_web.pages import now
from mend_web.participant_cases import KnownCases
from mend_web.services import Services

CASE = "case-aaaa0001"
OWNER = ("harmed_person", "hp-owner0001", "agency-a")
STAFF = [
    (role, person, agency)
    for agency in ("agency-a", "agency-b")
    for role, person in (
        ("practitioner", "prac-aaaa01"),
        ("coordinator", "coord-aaaa01"),
        ("auditor", "aud-aaaa01"),
        ("operator", "ops-0001aa"),
    )
]
STRANGERS = [
    ("harmed_person", "hp-stranger1", "agency-a"),  # same agency, another case
    ("responsible_person", "rp-stranger1", "agency-a"),
    ("harmed_person", "hp-owner0001", "agency-b"),  # the same id in another agency
    ("supporter", "sup-stranger1", "agency-b"),
]
ACTIONS = [
    ("/me/withdrawal", {"case": CASE, "scope": "contact:face_to_face"}),
    ("/me/stop", {"case": CASE, "session": "sess-0001"}),
    ("/me/preferences", {"case": CASE, "min_gap_days": "3", "permitted_forms": ["letter"]}),
    ("/me/updates", {"case": CASE, "level": "none"}),
    ("/me/letters", {"case": CASE, "session": "sess-0001", "content": "-"}),
    ("/me/letters/revision", {"case": CASE, "letter": "letter-0001", "content": "-"}),
    ("/me/letters/send", {"case": CASE, "letter": "letter-0001"}),
    ("/me/letters/keep", {"case": CASE, "letter": "letter-0001"}),
    ("/me/meetings", {"case": CASE, "day": "2031-03-01", "time": "10:30",
                      "timezone": "Europe/London", "channel": "video"}),
    ("/me/meetings/yes", {"case": CASE, "meeting": "meet-0001"}),
    ("/me/meetings/no", {"case": CASE, "meeting": "meet-0001"}),
    ("/me/meetings/cancel", {"case": CASE, "meeting": "meet-0001"}),
    ("/me/materials", {"case": CASE, "kind": "question", "content": "-"}),
    ("/me/materials/revision", {"case": CASE, "item": "item-0001", "content": "-"}),
    ("/me/materials/share", {"case": CASE, "item": "item-0001"}),
    ("/me/materials/unshare", {"case": CASE, "item": "item-0001"}),
    ("/me/materials/offer", {"case": CASE, "item": "item-0001", "session": "sess-0001"}),
    ("/me/outcomes", {"case": CASE, "instrument": "survivor-outcomes@1", "point": "m1",
                      "item-safety": "6"}),
    ("/me/conferences/answer", {"case": CASE, "conference": "conf-0001", "member": "vol-0001aa",
                                "answer": "agreed"}),
]  # fmt: skip
# Withdrawal and stop are never gated by the case index: the consent and sessions services
# decide, and refuse strangers (tests/test_participant_safety.py, over the real services).
SAFETY_ACTS = {"/me/withdrawal", "/me/stop"}
PAGES = ["/me", "/me/preferences", "/me/support", "/me/letters", "/me/meetings", "/me/materials",
         "/me/outcomes", "/me/conferences"]  # fmt: skip
NOWHERE = "http://127.0.0.1:9"  # no service answers here: a call would be a 503, never a 404


@pytest.fixture
async def area(world):
    cases = KnownCases()
    cases.add(OWNER[2], OWNER[1], CASE)
    # Staff pages keep the world's services; the participant's would all be unreachable.
    nowhere = Services.at({s: NOWHERE for s in ("consent", "sessions", "aftercare")})
    kept = world.app.state.services
    world.app.state.participant_cases = cases
    world.app.state.services = Services({**nowhere.clients, "hub": kept.clients["hub"]})
    yield world
    world.app.state.services = kept
    await nowhere.aclose()


async def _csrf(world, browser) -> str:
    raw = browser.cookies.get(world.app.state.settings.cookie_name)
    session = await world.app.state.sessions.load(raw, now())
    return session.csrf


async def test_staff_of_either_agency_are_refused_every_participant_page(area):
    leaks = []
    for caller in STAFF:
        browser = await area.signed_in_as(*caller)
        token = await _csrf(area, browser)
        answers = [
            *[await browser.get(p) for p in PAGES],
            await browser.get("/me/sessions", params={"case": CASE}),
            *[await browser.post(p, data={**b, "csrf_token": token}) for p, b in ACTIONS],
            await browser.post("/me/stay", data={"csrf_token": token}),
        ]
        leaks += [
            (caller, r.request.url.path, r.status_code) for r in answers if r.status_code != 403
        ]
    assert leaks == []


async def test_strangers_reach_only_their_own_empty_page_and_never_this_case(area):
    leaks = []
    for caller in STRANGERS:
        browser = await area.signed_in_as(*caller)
        token = await _csrf(area, browser)
        for page in PAGES:
            own = await browser.get(page)
            if (
                own.status_code != 200
                or CASE in own.text
                or "There is nothing here yet" not in own.text
            ):
                leaks.append((caller, page, own.status_code))
        answers = [
            await browser.get("/me/sessions", params={"case": CASE}),
            *[
                await browser.post(p, data={**b, "csrf_token": token})
                for p, b in ACTIONS
                if p not in SAFETY_ACTS
            ],
        ]
        leaks += [
            (caller, r.request.url.path, r.status_code) for r in answers if r.status_code != 404
        ]
    assert leaks == []


async def test_without_the_csrf_token_nothing_is_done_and_the_anonymous_sign_in_first(area):
    owner = await area.signed_in_as(*OWNER)
    for path, body in [*ACTIONS, ("/me/stay", {})]:
        assert (await owner.post(path, data=body)).status_code == 403
        assert (await owner.post(path, data={**body, "csrf_token": "x" * 43})).status_code == 403
    anonymous = await area.browser()
    for path in (*PAGES, f"/me/sessions?case={CASE}"):
        r = await anonymous.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/signin")
    r = await anonymous.get("/me/sessions", params={"case": CASE}, headers={"HX-Request": "true"})
    assert (r.status_code, r.headers.get("HX-Redirect")) == (401, "/signin")
    # The owner's stay (the idle warning's button) with the token: the visit goes on.
    token = await _csrf(area, owner)
    assert (await owner.post("/me/stay", data={"csrf_token": token})).status_code == 204


async def test_the_reminders_pages_are_for_participants_only_and_need_the_csrf_token(area):
    """A participant's reminders are their own, not a case's: staff are refused, the
    anonymous sent to sign in, and no change without the session's CSRF token."""
    actions = [
        (
            "/me/reminders",
            {"route": "new", "address": "a@b.test", "earliest_hour": "9", "latest_hour": "18"},
        ),
        ("/me/reminders/stop", {}),
        ("/me/support/stop", {}),  # their own support plan without a case
        ("/me/registration", {}),  # an enquirer's own choice to register
    ]
    for caller in STAFF:
        browser = await area.signed_in_as(*caller)
        token = await _csrf(area, browser)
        assert (await browser.get("/me/reminders")).status_code == 403, caller
        for path, body in actions:
            r = await browser.post(path, data={**body, "csrf_token": token})
            assert r.status_code == 403, (caller, path)
    owner = await area.signed_in_as(*OWNER)
    for path, body in actions:
        assert (await owner.post(path, data=body)).status_code == 403
    r = await (await area.browser()).get("/me/reminders")
    assert (r.status_code, r.headers.get("location")) == (303, "/signin")
