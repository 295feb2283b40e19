"""Sign-in through the web app's forms, against the real hub: password, then the TOTP code,
reaching the practitioner's case list (the hub's caseload, each case read from the sessions
service with the hub-signed token); generic failures; the lock explained; sign-out."""

from __future__ import annotations

from mend_web.pages import now

from .accounts import practitioner_account
from .conftest import csrf_of

PRAC, CASE, HP = "prac-web001", "case-web0001", "hp-web0001"


async def _password(browser, agency: str, username: str, password: str):
    page = await browser.get("/signin")
    assert page.status_code == 200
    body = {"csrf_token": csrf_of(page.text), "agency": agency, "username": username,
            "password": password}  # fmt: skip
    return await browser.post("/signin", data=body)


async def test_password_and_totp_through_the_forms_reach_the_practitioners_cases(world, unique):
    agency = f"agency-{unique}"
    account = await practitioner_account(world, agency, PRAC, "Sam.Web", {CASE: HP})

    browser = await world.browser()
    r = await _password(browser, agency, "sam.web", account.password)  # names are case-folded
    cookie = world.app.state.settings.cookie_name
    visitor = browser.cookies[cookie]
    assert (r.status_code, r.headers["location"]) == (303, "/signin/second-factor")
    page = await browser.get("/signin/second-factor")
    body = {"csrf_token": csrf_of(page.text), "code": account.code()}
    r = await browser.post("/signin/second-factor", data=body)
    assert (r.status_code, r.headers["location"]) == (303, "/cases"), r.text
    # A new session id at sign-in: the visitor's id (which someone may have planted) is dead.
    assert browser.cookies[cookie] != visitor
    assert await world.app.state.sessions.load(visitor, now()) is None
    cases = await browser.get("/cases")
    assert cases.status_code == 200, cases.text
    assert f'href="/cases/{CASE}"' in cases.text
    assert "Not available yet" not in cases.text  # the sessions service read it with the token
    case = await browser.get(f"/cases/{CASE}")
    assert case.status_code == 200 and HP in case.text

    # Sign-out ends the web session: the pages ask for sign-in again.
    r = await browser.post("/signout", data={"csrf_token": csrf_of(case.text)})
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    assert (await browser.get("/cases")).headers["location"] == "/signin"


async def test_failures_read_the_same_and_a_locked_account_is_explained(world, unique):
    agency = f"agency-{unique}"
    account = await practitioner_account(world, agency, PRAC, "sam.web")
    browser = await world.browser()

    unknown = await _password(browser, agency, "nobody.here", "wrong password")
    wrong = await _password(browser, agency, account.username, "wrong password")
    assert unknown.status_code == wrong.status_code == 400
    assert "Sign-in failed" in unknown.text and "Sign-in failed" in wrong.text
    for _ in range(4):  # five failures in a row lock the account
        await _password(browser, agency, account.username, "wrong password")
    locked = await _password(browser, agency, account.username, account.password)
    assert locked.status_code == 423
    assert "locked" in locked.text and "15 minutes" in locked.text
    assert "Sign-in failed" not in locked.text

    # A wrong code at the second step reads the same as a wrong password.
    other = await world.browser()
    page = await other.get("/signin/second-factor")
    assert page.headers.get("location") == "/signin"  # no password accepted yet


async def test_too_many_attempts_are_explained_and_the_browsers_address_is_passed_on(world):
    from mend_hub.signin.limits import AddressLimit

    seen: list[str] = []

    class Watching(AddressLimit):
        def check(self, address: str) -> None:
            seen.append(address)
            super().check(address)

    world.hub_app.state.signin.parts.address_limit = Watching(limit=2)
    forwarded: list[str | None] = []

    async def hook(request) -> None:
        forwarded.append(request.headers.get("x-forwarded-for"))

    world.hub.event_hooks["request"].append(hook)
    browser = await world.browser()
    answers = [await _password(browser, "agency-a", "nobody.here", "wrong") for _ in range(3)]
    assert [r.status_code for r in answers] == [400, 400, 429]
    assert "too many sign-in attempts" in answers[-1].text.lower()
    assert "Wait a minute" in answers[-1].text
    # The web app names the browser's address (here the ASGI test client's) to the hub, whose
    # server takes it from a trusted proxy (uvicorn's proxy headers; in process, it sees its
    # own ASGI client instead).
    assert forwarded == ["127.0.0.1"] * 3 and len(seen) == 3
