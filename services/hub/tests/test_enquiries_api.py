"""An anonymous enquiry through the hub's API on the real database: a coordinator records it
with a way back (a canary address), it is listed with its outcome, the way back is shown only
through a recorded read, the enquirer is handed an activation code for an anonymous account and
alone chooses to become a registered person, and erasing the way back leaves it unreadable. The
canary is nowhere in clear in the hub's events; another agency finds nothing."""

from __future__ import annotations

from mend_events.contracts.catalog.hub import enquiry_stream, person_stream


async def _ok(r, *statuses: int) -> dict:
    assert r.status_code in (statuses or (200, 201)), (r.status_code, r.text)
    return r.json()


async def test_an_anonymous_enquiry_from_record_to_the_enquirers_own_registration(
    people_world, unique, token, admin_conn
) -> None:
    w, c = people_world, people_world.client
    coord, prac = w.as_("coordinator"), w.as_("practitioner")
    canary = f"enquirer-{unique}@example.test"
    body = {
        "route": "agency",
        "referring_agency": "agency-b",
        "topics": ["rj_information", "support_services"],
        "contact": {"channel": "email", "address": canary, "may_leave_messages": True},
    }
    bad = await c.post("/enquiries", json={**body, "route": "self"}, headers=coord)
    assert bad.status_code == 422 and bad.json()["field"] == "route" and canary not in bad.text
    made = await _ok(await c.post("/enquiries", json=body, headers=prac), 201)
    ref = made["enquiry_ref"]
    assert [e["type"] for e in made["events"]] == ["EnquiryRecorded", "EnquiryContactRecorded"]

    listed = (await _ok(await c.get("/enquiries", headers=coord)))["enquiries"]
    assert [e["enquiry_ref"] for e in listed] == [ref] and listed[0]["contact_channel"] == "email"
    assert canary not in str(listed)
    assert (await c.get("/enquiries", headers=w.as_("coordinator of agency-b"))).json() == {
        "enquiries": []
    }
    assert (await c.get(f"/enquiries/{ref}", headers=w.as_("auditor"))).status_code == 403
    other = await c.get(f"/enquiries/{ref}", headers=w.as_("coordinator of agency-b"))
    assert other.status_code == 404

    await _ok(await c.put(f"/enquiries/{ref}/outcome", json={"outcome": "signposted"},
                          headers=coord), 201)  # fmt: skip
    shown = await _ok(await c.post(f"/enquiries/{ref}/contact/reads", headers=prac), 201)
    assert shown["address"] == canary and shown["read_id"]

    # An anonymous account for the enquirer, and their own choice to register.
    code = await _ok(await c.post(f"/enquiries/{ref}/account", json={}, headers=prac), 201)
    assert code["person_id"] == ref and code["activation_code"]
    redeem = {"activation_code": code["activation_code"], "username": f"enq{unique}",
              "password": "a long enough passphrase 12"}  # fmt: skip
    await _ok(await c.post("/invitations/redeem", json=redeem), 201)
    refused = await c.post(f"/enquiries/{ref}/registration", headers=coord)
    assert refused.status_code == 403  # staff never link an enquiry to a person
    enquirer = token("harmed_person", ref)
    assert (await _ok(await c.get(f"/enquiries/{ref}", headers=enquirer)))["person_id"] is None
    done = await _ok(await c.post(f"/enquiries/{ref}/registration", headers=enquirer), 201)
    assert [e["type"] for e in done["events"]] == ["EnquirerRegistered", "PersonRegistered"]
    assert (await _ok(await c.get(f"/enquiries/{ref}", headers=coord)))["person_id"] == ref
    people = await w.runtime.store.read_stream(person_stream(ref))
    assert [e.event_type for e in people] == ["PersonRegistered"]
    assert people[0].metadata.actor_id == ref  # their own act

    # Erasing the way back: unreadable from then on, the history intact.
    await _ok(await c.post(f"/enquiries/{ref}/contact/erasure", headers=coord), 201)
    assert (await c.post(f"/enquiries/{ref}/contact/reads", headers=prac)).status_code == 404
    events = await w.runtime.store.read_stream(enquiry_stream("agency-a", ref))
    recorded = next(e for e in events if e.event_type == "EnquiryContactRecorded")
    opened = await w.runtime.sealer.open_recorded(recorded, personal_owner="enquiry_ref")
    assert opened.get("address") != canary
    rows = await admin_conn.fetch(
        f"SELECT data::text AS d FROM {w.runtime.schema}.events WHERE stream_id = $1",
        enquiry_stream("agency-a", ref),
    )
    assert rows and not any(canary in r["d"] for r in rows)
