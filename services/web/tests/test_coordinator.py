"""The coordinator's pages against the real hub: the staff list with qualifications, and
allocation then reallocation through the forms; the history shows both, and the hub refuses
another agency's case."""

from __future__ import annotations

from mend_testkit.directory import open_case
from mend_testkit.hub import COORD_A, COORD_B, PRAC_1, PRAC_2, PRAC_B

from .accounts import staffed
from .conftest import csrf_of

CASE, HP = "case-coord001", "hp-coord001"


async def test_staff_allocation_and_reallocation_through_the_forms(world):
    await staffed(world, "agency-a", COORD_A, (PRAC_1, PRAC_2))
    await staffed(world, "agency-b", COORD_B, (PRAC_B,))
    await open_case(world.hub_runtime, CASE, HP, agency="agency-a")
    browser = await world.signed_in_as("coordinator", COORD_A, "agency-a")

    page = await browser.get("/staff")
    assert page.status_code == 200, page.text
    assert PRAC_1 in page.text and PRAC_2 in page.text
    assert "level 2" in page.text and "survivor specialist" in page.text
    assert PRAC_B not in page.text  # agency B's practitioner
    csrf = csrf_of(page.text)

    body = {"csrf_token": csrf, "case_id": CASE, "practitioner_id": PRAC_1,
            "reason": "new_case"}  # fmt: skip
    r = await browser.post("/allocations", data=body)
    assert (r.status_code, r.headers["location"]) == (303, f"/allocations/{CASE}"), r.text
    body = {"csrf_token": csrf, "case_id": CASE, "from_practitioner_id": PRAC_1,
            "to_practitioner_id": PRAC_2, "reason": "caseload_balance"}  # fmt: skip
    r = await browser.post("/allocations/reallocation", data=body)
    assert r.status_code == 303, r.text
    history = await browser.get(f"/allocations/{CASE}")
    assert history.status_code == 200
    now, _, past = history.text.partition("<h2>History</h2>")
    assert PRAC_2 in now and PRAC_1 not in now
    assert past.count("<tr><td>") == 3  # allocated, ended, allocated
    assert "caseload balance" in past

    # Without the CSRF token nothing is asked of the hub.
    before = await world.hub_runtime.store.head_position()
    body = {"case_id": CASE, "practitioner_id": PRAC_1, "reason": "new_case"}
    assert (await browser.post("/allocations", data=body)).status_code == 403
    assert await world.hub_runtime.store.head_position() == before

    # Agency B's coordinator: the hub refuses agency A's case (the page says not available).
    other = await world.signed_in_as("coordinator", COORD_B, "agency-b")
    csrf_b = csrf_of((await other.get("/staff")).text)
    body = {"csrf_token": csrf_b, "case_id": CASE, "practitioner_id": PRAC_B,
            "reason": "new_case"}  # fmt: skip
    assert (await other.post("/allocations", data=body)).status_code in (403, 404)
    assert (await other.get(f"/allocations/{CASE}")).status_code in (403, 404)
    assert await world.hub_runtime.store.head_position() == before


async def test_caseloads_and_the_agency_report_with_small_numbers_hidden(world):
    await staffed(world, "agency-a", COORD_A, (PRAC_1, PRAC_2))
    await staffed(world, "agency-b", COORD_B, (PRAC_B,))
    coord = world.token("coordinator", COORD_A, "agency-a")
    cases = [f"case-load{n:04d}" for n in range(5)]
    body = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    for case in cases:
        hp = world.token("harmed_person", f"hp-load{case[-4:]}", "agency-a")
        opened = await world.sessions.post(f"/cases/{case}/open", json=body, headers=hp)
        assert opened.status_code == 201, opened.text
        await open_case(world.hub_runtime, case, f"hp-load{case[-4:]}", agency="agency-a")
        r = await world.hub.post(f"/cases/{case}/allocations", json={"practitioner_id": PRAC_1},
                                 headers=coord)  # fmt: skip
        assert r.status_code == 201, r.text
    await world.hub_runtime.settle()
    browser = await world.signed_in_as("coordinator", COORD_A, "agency-a")

    page = await browser.get("/caseloads")
    assert page.status_code == 200, page.text
    first = page.text.split(f'<tr data-person="{PRAC_1}">')[1].split("</tr>")[0]
    assert all(f'href="/allocations/{c}"' in first for c in cases)
    second = page.text.split(f'<tr data-person="{PRAC_2}">')[1].split("</tr>")[0]
    assert "<td>0</td>" in second and PRAC_B not in page.text

    # Five cases allocated: shown. The commissioners' report (the audit service's, replayed
    # from the stores): five self-referrals, all at the opening.
    report = await browser.get("/reports")
    assert report.status_code == 200, report.text
    casework = report.text.split('id="casework"')[1].split("</dl>")[0]
    assert "<dd>5</dd>" in casework
    routes = report.text.split('data-table="cases_by_route"')[1].split("</table>")[0]
    assert '<th scope="row">Self-referral</th><td>5</td>' in routes, routes
    assert '<th scope="row">Total</th><td>5</td>' in routes
    stages = report.text.split('data-table="cases_by_furthest_stage"')[1].split("</table>")[0]
    assert '<th scope="row">Opening</th><td>5</td>' in stages
    assert not any(c in report.text for c in cases)
    # As recorded by a day before any of it: nothing; and the same report as a CSV file.
    before = await browser.get("/reports", params={"day": "2020-01-31"})
    routes = before.text.split('data-table="cases_by_route"')[1].split("</table>")[0]
    assert '<th scope="row">Total</th><td>0</td>' in routes
    assert "2020-01-31T23:59:59.999999+00:00" in before.text
    csv_file = await browser.get("/reports/download", params={"format": "csv"})
    assert csv_file.status_code == 200 and "attachment" in csv_file.headers["content-disposition"]
    assert "table,cases_by_route,self_referral,5" in csv_file.text
    assert (await browser.get("/reports", params={"day": "someday"})).status_code == 422

    # Agency B's coordinator: their own agency only (none of A's cases, a count hidden).
    other = await world.signed_in_as("coordinator", COORD_B, "agency-b")
    page = await other.get("/caseloads")
    assert page.status_code == 200 and not any(c in page.text for c in cases)
    report = await other.get("/reports")
    assert report.status_code == 200
    assert "fewer than 5" in report.text.split('id="casework"')[1].split("</dl>")[0]
    routes = report.text.split('data-table="cases_by_route"')[1].split("</table>")[0]
    assert '<th scope="row">Total</th><td>0</td>' in routes


async def test_a_coordinator_reviews_and_adopts_a_rule_pack(world):
    await staffed(world, "agency-a", COORD_A, (PRAC_1,))
    browser = await world.signed_in_as("coordinator", COORD_A, "agency-a")
    page = await browser.get("/rules")
    assert page.status_code == 200, page.text
    assert "Your agency works under england-wales@1" in page.text
    v2 = page.text.split('data-pack="england-wales@2"')[1].split("</section>")[0]
    assert '<th scope="row">risk.max_validity_days</th><td>180</td><td>60</td>' in v2
    r = await browser.post("/rules", data={"pack_id": "england-wales", "version": "2",
                                           "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/rules?done=adopted")
    page = await browser.get("/rules?done=adopted")
    assert "Your agency works under england-wales@2" in page.text and "Adopted." in page.text
    record = await world.hub.get(
        "/agencies/agency-a", headers=world.token("coordinator", COORD_A, "agency-a")
    )
    assert record.json()["rule_pack"] == "england-wales@2"
    # A version Mend does not ship: refused, nothing adopted.
    r = await browser.post("/rules", data={"pack_id": "england-wales", "version": "9",
                                           "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert r.status_code in (409, 422)


async def test_a_volunteer_enrolled_vetted_trained_and_allocated_through_the_forms(world):
    """Issue 21: the coordinator enrols a volunteer, records their checks and courses (the page
    says what each part still needs), and allocates them for a part; the case's allocations
    page names them with it. Before the records, the hub refuses the allocation."""
    from datetime import UTC, datetime, timedelta

    from mend_events.contracts.catalog.hub import REQUIRED_TRAINING, VolunteerPart

    await staffed(world, "agency-a", COORD_A, (PRAC_1,))
    await open_case(world.hub_runtime, CASE, HP, agency="agency-a")
    browser = await world.signed_in_as("coordinator", COORD_A, "agency-a")
    page = await browser.get("/volunteers")
    assert page.status_code == 200 and "No volunteers are enrolled yet." in page.text
    csrf, vol = csrf_of(page.text), "vol-coord001"
    r = await browser.post("/volunteers", data={"csrf_token": csrf, "person_id": vol})
    assert (r.status_code, r.headers["location"]) == (303, "/volunteers?done=enrolled"), r.text
    allocate = {"csrf_token": csrf, "case_id": CASE, "volunteer_id": vol,
                "part": "support_person", "reason": "new_case"}  # fmt: skip
    assert (await browser.post("/volunteers/allocations", data=allocate)).status_code == 409

    today = datetime.now(UTC).date()
    for check in ("background_check", "references"):
        body = {"csrf_token": csrf, "person_id": vol, "check": check, "outcome": "clear",
                "checked_on": today.isoformat(),
                "valid_until": (today + timedelta(days=365)).isoformat()}  # fmt: skip
        assert (await browser.post("/volunteers/vetting", data=body)).status_code == 303
    for course in sorted(REQUIRED_TRAINING[VolunteerPart.SUPPORT_PERSON]):
        body = {"csrf_token": csrf, "person_id": vol, "course": str(course),
                "completed_on": today.isoformat(), "valid_until": ""}  # fmt: skip
        r = await browser.post("/volunteers/training", data=body)
        assert r.status_code == 303, r.text
    page = await browser.get("/volunteers")
    row = page.text.split(f"<td>{vol}</td>")[1].split("</tr>")[0]
    assert "ready" in row and "circle facilitation missing" in row

    r = await browser.post("/volunteers/allocations", data=allocate)
    assert (r.status_code, r.headers["location"]) == (303, f"/allocations/{CASE}"), r.text
    history = await browser.get(f"/allocations/{CASE}")
    assert f"{vol} as support person since" in history.text
    end = {"csrf_token": csrf, "case_id": CASE, "volunteer_id": vol, "reason": "other"}
    assert (await browser.post("/volunteers/allocations/end", data=end)).status_code == 303
    assert (
        "No volunteer is allocated to this case."
        in (await browser.get(f"/allocations/{CASE}")).text
    )
