"""The case page's actions over the real services: without script a form posts and the page
answers 303 back to the case; with htmx the case's part comes back; a field the page cannot
read is named with its reason and never echoed, and nothing is written; a service's refusal is
shown as a plain message on the page."""

from __future__ import annotations

from uuid import uuid4

from mend_testkit.journeys.case import new_case

from .conftest import csrf_of

CONFERENCE = "conference"
ODD = "zz-NOT-AN-ANSWER-zz"


async def _case_and_browser(mend):
    driver = mend.driver
    case = new_case(driver, "web-actions", "a practitioner acts from the case page")
    await case.up_to_preparation([CONFERENCE], responsible=False, supporter=True)
    browser = await mend.world.signed_in_as("practitioner", driver.team.facilitator)
    page = await browser.get(f"/cases/{case.id}")
    assert page.status_code == 200, page.text
    return case, browser, csrf_of(page.text)


async def test_actions_work_without_script_and_with_htmx(mend):
    case, browser, csrf = await _case_and_browser(mend)
    c = case.cast
    page = (await browser.get(f"/cases/{case.id}")).text
    for part in ("Timeline", "Consents", "Risk", "Sessions", "Agreement", "After-care"):
        assert f">{part}</h2>" in page
    assert "Consent given" in page and "Not given" not in page  # the matrix, all given

    # Without script: 303 back to the case, and the sessions service has the preparation.
    form = {"participant": f"{c.harmed}:harmed_person", "csrf_token": csrf}
    r = await browser.post(f"/cases/{case.id}/preparations", data=form)
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{case.id}#people")
    doc = await case.driver.get("sessions", f"/cases/{case.id}", case.facilitator)
    assert c.harmed in doc["prepared"]

    # With htmx: the case's part of the page, with the flag now standing.
    body = {"severity": "low", "category": "other", "affects": "", "csrf_token": csrf}
    r = await browser.post(f"/cases/{case.id}/flags", data=body, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<div id="case-body">') and "<html" not in r.text
    assert "Done." in r.text and "No flags standing." not in r.text

    # Resolved from the page: the risk service no longer has it standing.
    risk = await case.driver.get("risk", f"/cases/{case.id}/risk", case.facilitator)
    (flag,) = risk["flags"]
    body = {"flag_id": str(flag["flag_id"]), "reason": "raised_in_error", "csrf_token": csrf}
    r = await browser.post(f"/cases/{case.id}/flag-resolutions", data=body)
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{case.id}#risk"), r.text
    risk = await case.driver.get("risk", f"/cases/{case.id}/risk", case.facilitator)
    assert risk["flags"] == []
    # A flag id that is no UUID: named, not echoed, nothing sent.
    r = await browser.post(f"/cases/{case.id}/flag-resolutions",
                           data={**body, "flag_id": "not-a-flag"})  # fmt: skip
    assert r.status_code == 422 and "not-a-flag" not in r.text


async def test_bad_input_names_the_field_and_a_refusal_is_a_plain_message(mend):
    case, browser, csrf = await _case_and_browser(mend)
    c = case.cast
    before = await case.driver.get("risk", f"/cases/{case.id}/risk", case.facilitator)

    # Fields the page cannot read: named, with a reason, never echoed; nothing is written.
    bad = {"stage": "full", "protective_order": ODD, "bail_or_licence_conditions": "absent",
           "decision": "proceed", "reason": "other", "valid_for_days": ODD,
           "csrf_token": csrf}  # fmt: skip
    r = await browser.post(f"/cases/{case.id}/assessments", data=bad)
    assert r.status_code == 422, r.text
    assert ODD not in r.text
    for field in ("protective_order", "valid_for_days", "signed_off_by"):
        assert f'id="assessments-{field}-error"' in r.text
        assert f'aria-describedby="assessments-{field}-error"' in r.text
    after = await case.driver.get("risk", f"/cases/{case.id}/risk", case.facilitator)
    assert after == {**before, "at": after["at"]}

    # The sessions service refuses a session whose gates are unmet (nobody prepared yet):
    # its reason as a plain message, with htmx in the swapped part (200, so htmx swaps it).
    schedule = {"form": CONFERENCE, "participants": [f"{c.harmed}:harmed_person"],
                "day": "2031-03-01", "time": "10:30", "csrf_token": csrf}  # fmt: skip
    r = await browser.post(f"/cases/{case.id}/sessions", data=schedule)
    assert r.status_code in (409, 422), r.text
    assert '<p class="error" role="alert">' in r.text and "<html" in r.text
    r = await browser.post(f"/cases/{case.id}/sessions", data=schedule,
                           headers={"HX-Request": "true"})  # fmt: skip
    assert r.status_code == 200 and '<p class="error" role="alert">' in r.text
    doc = await case.driver.get("sessions", f"/cases/{case.id}", case.facilitator)
    assert doc["sessions"] == []


async def test_a_stranger_acts_on_no_service(mend):
    """Another practitioner of the same agency (not allocated), and one of another agency: every
    action refused, and no service, the consent and risk services included, writes anything."""
    case, _, _ = await _case_and_browser(mend)
    c, driver = case.cast, case.driver

    async def records() -> list:
        reads = [("risk", "risk"), ("consent", "consent-history"), ("sessions", "")]
        out = []
        for service, path in reads:
            doc = await driver.get(service, f"/cases/{case.id}/{path}".rstrip("/"),
                                   case.facilitator)  # fmt: skip
            out.append({k: v for k, v in (doc or {}).items() if k != "at"})
        return out

    before = await records()
    actions = {
        "flags": {"severity": "severe", "category": "safety_threat"},
        "flag-resolutions": {"flag_id": str(uuid4()), "reason": "raised_in_error"},
        "acknowledgements": {"responsible_person_id": c.responsible, "basis": "written_statement"},
        "preparations": {"participant": f"{c.harmed}:harmed_person"},
        "assessments": {"stage": "full", "protective_order": "absent", "reason": "other",
                        "bail_or_licence_conditions": "absent", "decision": "do_not_proceed",
                        "signed_off_by": driver.team.survivor_specialist},
    }  # fmt: skip
    for person, agency in (("prac-0009zz", "agency-a"), ("prac-bbbb01", "agency-b")):
        stranger = await mend.world.signed_in_as("practitioner", person, agency)
        csrf = csrf_of((await stranger.get("/home")).text)
        for name, body in actions.items():
            r = await stranger.post(f"/cases/{case.id}/{name}", data={**body, "csrf_token": csrf})
            assert r.status_code in (403, 404), (person, name, r.status_code)
    assert await records() == before


async def test_after_care_check_ins_and_referrals_from_the_case_page(mend):
    """Before the harmed person has accepted after-care the aftercare service refuses a check-in
    (its words shown, nothing written); once her withdrawal has brought the offer and she has
    accepted it, a check-in and a referral to counselling are made from the page. Bad fields
    are named, never echoed."""
    case, browser, csrf = await _case_and_browser(mend)
    c = case.cast
    who = f"{c.harmed}:harmed_person"
    body = {"participant": who, "day": "2031-03-01", "time": "10:30", "csrf_token": csrf}
    referral = {"participant": who, "kind": "counselling", "due_on": "2031-03-15",
                "csrf_token": csrf}  # fmt: skip
    r = await browser.post(f"/cases/{case.id}/check-ins", data=body)
    assert r.status_code == 422, r.status_code
    assert '<p class="error" role="alert">this is not the case' in r.text  # the service's words
    doc = await case.driver.get("aftercare", f"/cases/{case.id}/aftercare", case.facilitator)
    assert not (doc or {}).get("check_ins")

    await case.withdraw(c.harmed)
    await case.wait_offer("withdrawn", "consent_withdrawn")
    await case.accept_aftercare()  # check-ins and referrals only within a plan she chose
    r = await browser.post(f"/cases/{case.id}/check-ins", data=body)
    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/cases/{case.id}#aftercare"
    r = await browser.post(f"/cases/{case.id}/referrals", data=referral)
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{case.id}#aftercare"), r.text
    doc = await case.driver.get("aftercare", f"/cases/{case.id}/aftercare", case.facilitator)
    assert len(doc["check_ins"]) == 1 and len(doc["referrals"]) == 1, doc

    r = await browser.post(f"/cases/{case.id}/check-ins", data={**body, "day": "2031-02-30"})
    assert r.status_code == 422 and "2031-02-30" not in r.text
    r = await browser.post(f"/cases/{case.id}/check-ins",
                           data={**body, "participant": f"{c.supporter}:supporter"})  # fmt: skip
    assert r.status_code == 422 and "Choose the harmed or the responsible person" in r.text
