"""The people directory over HTTP, on the real database and broker: every route for every
caller (each role, two agencies, strangers of the same agency, the responsible person of the
same case), purposes, the read log, and refusals that never echo a value."""

from __future__ import annotations

from uuid import uuid4

import pytest
from mend_testkit.refusals import clear_4xx

# The ids of the people world (conftest.py).
CASE, HP, PRAC = "case-ppl0001", "hp-ppl0001", "prac-aaaa01"

CALLERS = (
    "coordinator",
    "practitioner",  # allocated to the harmed person's case
    "other practitioner",  # same agency, not allocated
    "auditor",
    "harmed person",
    "responsible person",  # the other party of the same case
    "stranger",  # a harmed person of the same agency, of no case here
    "supporter",  # a supporter taking part in the same case
    "responsible person as supporter",  # the other party, signed in in another role
    "institution rep",  # of the same agency, of no case here
    "operator",
    "coordinator of agency-b",
    "practitioner of agency-b",  # the case id listed in their token
    "auditor of agency-b",
)
READERS = {"coordinator", "practitioner", "harmed person"}
# route -> callers allowed; every other caller gets 403.
EXPECTED = {
    # a new person, in the caller's own agency (an id agency A holds is refused to B: below)
    "register": {"coordinator", "coordinator of agency-b"},
    "details": {"coordinator", "harmed person"},
    "add route": {"coordinator", "harmed person"},
    "remove route": {"coordinator", "harmed person"},
    "read details": READERS,
    "read contact": READERS,
    "read log": {"auditor", "coordinator", "harmed person"},
}


def more_headers(world) -> None:
    t = world.token
    world.headers.update(
        {
            "stranger": t("harmed_person", "hp-ppl0009"),
            "supporter": t("supporter", "sup-ppl0001"),
            "responsible person as supporter": t("supporter", "rp-ppl0001"),
            "institution rep": t("institution_rep", "ir-ppl0009"),
            "operator": t("operator", "ops-ppl0002"),
            "auditor of agency-b": t("auditor", "aud-ppl0001", "agency-b"),
        }
    )


async def call(world, route: str, headers: dict[str, str]):
    c, person = world.client, f"/people/{HP}"
    if route == "register":
        return await c.post("/people", json={"person_id": f"hp-{uuid4().hex[:8]}"}, headers=headers)
    if route == "details":
        return await c.put(f"{person}/details", json={"pronouns": "she/her"}, headers=headers)
    if route == "add route":
        body = {"channel": "post", "address": "a safe address"}
        return await c.post(f"{person}/contact-routes", json=body, headers=headers)
    if route == "remove route":  # a route that does not exist: 404 once allowed, 403 before
        return await c.delete(f"{person}/contact-routes/{uuid4()}", headers=headers)
    if route == "read details":
        return await c.get(person, headers=headers)
    if route == "read contact":
        return await c.get(f"{person}/contact?purpose=safety_check", headers=headers)
    assert route == "read log"
    return await c.get(f"{person}/reads", headers=headers)


async def test_every_route_for_every_caller(people_world) -> None:
    assert (people_world.case, people_world.hp, people_world.prac) == (CASE, HP, PRAC)
    more_headers(people_world)
    wrong = []
    for route, allowed in EXPECTED.items():
        for caller in CALLERS:
            r = await call(people_world, route, people_world.as_(caller))
            ok = {201} if route in {"register", "details", "add route"} else {200}
            want = (404 if route == "remove route" else ok) if caller in allowed else {403}
            want = want if isinstance(want, set) else {want}
            if r.status_code not in want:
                wrong.append(f"{caller} {route}: {r.status_code} {r.text[:120]}")
            elif r.status_code == 403:
                clear_4xx(r, 403, None)
        r = await call(people_world, route, {})
        if r.status_code != 401:
            wrong.append(f"anonymous {route}: {r.status_code}")
    assert wrong == []


async def test_the_responsible_person_of_the_same_case_and_another_agency_get_403(
    people_world,
) -> None:
    for caller in ("responsible person", "coordinator of agency-b", "practitioner of agency-b"):
        r = await people_world.client.get(
            f"/people/{HP}/contact?purpose=arrange_session", headers=people_world.as_(caller)
        )
        body = clear_4xx(r, 403, None)
        assert people_world.number not in r.text and people_world.canary not in r.text, body


async def test_a_read_without_a_purpose_is_422_and_records_nothing(people_world) -> None:
    c, prac = people_world.client, people_world.as_("practitioner")
    clear_4xx(await c.get(f"/people/{HP}/contact", headers=prac), 422, "purpose")
    r = await c.get(f"/people/{HP}/contact?purpose=curiosity", headers=prac)
    clear_4xx(r, 422, "purpose")
    assert "curiosity" not in r.text
    log = await c.get(f"/people/{HP}/reads", headers=people_world.as_("auditor"))
    assert log.json()["reads"] == []


async def test_each_read_is_recorded_with_who_when_why_and_the_case(people_world) -> None:
    c, w = people_world.client, people_world
    r = await c.get(f"/people/{HP}/contact?purpose=arrange_session", headers=w.as_("practitioner"))
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["via_case"] == CASE and not shown["erased"]
    (route,) = shown["routes"]
    assert (route["route_id"], route["channel"], route["address"]) == (
        w.route_id,
        "phone",
        w.number,
    )
    assert route["may_leave_messages"] is False
    r = await c.get(f"/people/{HP}/contact?purpose=safety_check", headers=w.as_("practitioner"))
    assert r.status_code == 200
    r = await c.get(f"/people/{HP}/contact?purpose=details_review", headers=w.as_("harmed person"))
    assert r.status_code == 200
    for reader in ("auditor", "coordinator", "harmed person"):
        log = await c.get(f"/people/{HP}/reads", headers=w.as_(reader))
        assert log.status_code == 200
        reads = log.json()["reads"]
        assert [(x["reader_id"], x["reader_role"], x["purpose"], x["via_case"]) for x in reads] == [
            (PRAC, "practitioner", "arrange_session", CASE),
            (PRAC, "practitioner", "safety_check", CASE),
            (HP, "harmed_person", "details_review", None),
        ]
        assert all(x["routes_shown"] == 1 and x["read_at"] for x in reads)
        assert w.number not in log.text and w.canary not in log.text
    # The auditor sees who read, never what was read.
    for path in (f"/people/{HP}", f"/people/{HP}/contact?purpose=safety_check"):
        clear_4xx(await c.get(path, headers=w.as_("auditor")), 403, None)


async def test_deallocation_ends_the_practitioners_reads_on_the_next_request(people_world) -> None:
    c, w = people_world.client, people_world
    url = f"/people/{HP}/contact?purpose=arrange_session"
    assert (await c.get(url, headers=w.as_("practitioner"))).status_code == 200
    r = await c.post(
        f"/cases/{CASE}/allocations/{PRAC}/end",
        json={"reason": "caseload_balance"},
        headers=w.as_("coordinator"),
    )
    assert r.status_code == 201, r.text
    clear_4xx(await c.get(url, headers=w.as_("practitioner")), 403, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 121}, "name"),
        ({"name": "line\nbreak"}, "name"),
        ({"nickname": "Zo"}, "nickname"),
    ],
)
async def test_bad_details_are_422_on_the_field_without_the_value(people_world, body, field):
    w = people_world
    text = {k: f"{v} {w.canary}" for k, v in body.items()}
    r = await w.client.put(f"/people/{HP}/details", json=text, headers=w.as_("coordinator"))
    clear_4xx(r, 422, None)
    assert w.canary not in r.text and "Canary" not in r.text


async def test_a_person_not_in_the_directory_is_404_and_a_taken_id_elsewhere_403(
    people_world,
) -> None:
    c, w = people_world.client, people_world
    r = await c.get("/people/hp-nobody01", headers=w.as_("coordinator"))
    clear_4xx(r, 404, "person_id")
    r = await c.post("/people", json={"person_id": HP}, headers=w.as_("coordinator of agency-b"))
    clear_4xx(r, 403, "person_id")
    r = await c.get("/people/Tom Smith", headers=w.as_("coordinator"))
    clear_4xx(r, 422, "person_id")
    assert "Tom" not in r.text


async def test_a_retried_route_names_the_same_route_and_writes_it_once(people_world) -> None:
    c, w = people_world.client, people_world
    body = {"channel": "email", "address": "a safe mailbox", "may_leave_messages": True}
    headers = {**w.as_("harmed person"), "Idempotency-Key": "route-1"}
    first = await c.post(f"/people/{HP}/contact-routes", json=body, headers=headers)
    again = await c.post(f"/people/{HP}/contact-routes", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["route_id"] == again.json()["route_id"]
    r = await c.get(f"/people/{HP}/contact?purpose=details_review", headers=w.as_("harmed person"))
    assert [x["channel"] for x in r.json()["routes"]] == ["phone", "email"]


async def test_reads_of_details_are_not_kept_by_caches(people_world) -> None:
    c, w = people_world.client, people_world
    for path in (f"/people/{HP}", f"/people/{HP}/contact?purpose=safety_check"):
        r = await c.get(path, headers=w.as_("practitioner"))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


async def test_an_idempotency_key_keeps_no_testable_fingerprint_of_the_details(
    people_world,
) -> None:
    """The digest a key is bound to is kept for good: over plain text, a phone number's digest
    could be tested against guesses (before and after an erasure). It is taken over the
    sealed text; a retry still matches it and another request under the key is refused."""
    from mend_events.web.commands import request_digest
    from mend_hub.people.commands import ContactRouteBody, RecordDetails

    c, w = people_world.client, people_world
    headers = {**w.as_("coordinator"), "Idempotency-Key": "details-1"}
    details = {"name": w.canary, "language": "Welsh"}
    route = {"channel": "phone", "address": w.number}
    route_headers = {**headers, "Idempotency-Key": "route-1"}
    for _ in range(2):
        r = await c.put(f"/people/{HP}/details", json=details, headers=headers)
        assert r.status_code in (200, 201), r.text
        r = await c.post(f"/people/{HP}/contact-routes", json=route, headers=route_headers)
        assert r.status_code in (200, 201), r.text
    assert r.status_code == 200  # the retry wrote nothing
    other = await c.put(f"/people/{HP}/details", json={"name": "someone"}, headers=headers)
    clear_4xx(other, 422, "Idempotency-Key")
    plain = {
        request_digest("people.details", {"person_id": HP}, RecordDetails(**details)),
        request_digest("people.route", {"person_id": HP}, ContactRouteBody(**route)),
    }
    async with w.runtime.pool.acquire() as conn:
        bound = {r["request"] for r in await conn.fetch(
            f"SELECT request FROM {w.runtime.schema}.idempotency_keys"
        )}  # fmt: skip
    assert len(bound) == 2 and not bound & plain


async def test_the_openapi_document_names_the_directorys_routes(people_world) -> None:
    r = await people_world.client.get("/openapi.json")
    paths = r.json()["paths"]
    assert {
        "/people": {"post"},
        "/people/{person_id}": {"get"},
        "/people/{person_id}/details": {"put"},
        "/people/{person_id}/contact-routes": {"post"},
        "/people/{person_id}/contact-routes/{route_id}": {"delete"},
        "/people/{person_id}/contact": {"get"},
        "/people/{person_id}/reads": {"get"},
    } == {p: set(ops) for p, ops in paths.items() if p.startswith("/people")}
    (purpose,) = [
        p for p in paths["/people/{person_id}/contact"]["get"]["parameters"]
        if p["name"] == "purpose"
    ]  # fmt: skip
    assert purpose["required"] is True and purpose["in"] == "query"
