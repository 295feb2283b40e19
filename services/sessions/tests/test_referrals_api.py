"""Referrals and the responsible person's answer through the API on the real database: an
agency's referral before any case, its outcome; another agency refused; once the responsible
person is not reachable the case shows the forms offered without him, and a session with him is
refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mend_sessions.app import build
from mend_testkit.directory import allocate
from mend_testkit.fixtures import running_service

CASE, HP, RP, FAC = "case-refer001", "hp-refer001", "rp-refer001", "prac-refer01"


@pytest.fixture
async def sessions(platform, unique, topic_prefix):
    async with running_service(build, "sessions", platform, unique, topic_prefix) as running:
        yield running


async def test_a_referral_its_outcome_and_the_responsible_person_not_reachable(sessions, token):
    client, _, runtime = sessions
    fac, hp = token("practitioner", FAC), token("harmed_person", HP)
    referral = {"referral_id": "ref-0001", "harmed_person_id": HP, "source": "agency",
                "referring_agency": "police-north", "contact_person_id": "pol-contact1",
                "contact_about": ["rj_information", "support_services"],
                "contact_by": ["via_referrer"]}  # fmt: skip
    r = await client.post(f"/cases/{CASE}/referrals", json=referral, headers=fac)
    assert r.status_code == 201, r.text
    stranger = token("coordinator", "coord-bbbb01", "agency-b")
    outcome = {"outcome": "taken_up"}
    path = f"/cases/{CASE}/referrals/ref-0001/outcome"
    assert (await client.post(path, json=outcome, headers=stranger)).status_code == 403
    assert (await client.post(path, json=outcome, headers=fac)).status_code == 201
    bad = {**referral, "referral_id": "ref-0002", "referring_agency": None}
    r = await client.post(f"/cases/{CASE}/referrals", json=bad, headers=fac)
    assert r.status_code == 422, r.text

    opening = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    assert (await client.post(f"/cases/{CASE}/open", json=opening, headers=hp)).status_code == 201
    await allocate(runtime, CASE, FAC)
    prefs = {"responsible_person_takes_part": True, "invited": [RP],
             "permitted_forms": ["letter", "story_telling", "unsent_letter"]}  # fmt: skip
    assert (await client.post(f"/cases/{CASE}/preferences", json=prefs, headers=hp)).is_success
    enrol = {"person_id": RP, "role": "responsible_person"}
    assert (await client.post(f"/cases/{CASE}/participants", json=enrol, headers=fac)).is_success
    answer = {"outcome": "not_reachable"}
    path = f"/cases/{CASE}/responsible-person-outcome"
    assert (await client.post(path, json=answer, headers=hp)).status_code == 403
    assert (await client.post(path, json=answer, headers=fac)).status_code == 201

    async def doc() -> dict:
        await runtime.settle()
        return (await client.get(f"/cases/{CASE}", headers=hp)).json()

    case = await doc()
    assert case["responsible_person_outcome"] == {
        "outcome": "not_reachable",
        "offered_forms": ["story_telling", "unsent_letter"],
    }
    [shown] = case["referrals"]
    assert (shown["referring_agency"], shown["outcome"]) == ("police-north", "taken_up")
    session = {"session_id": "sess-0001", "form": "letter", "facilitator_id": FAC,
               "participants": [{"id": HP, "role": "harmed_person"},
                                {"id": RP, "role": "responsible_person"}],
               "scheduled_for": (datetime.now(UTC) + timedelta(days=1)).isoformat()}  # fmt: skip
    r = await client.post(f"/cases/{CASE}/sessions", json=session, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "participants", r.text
    assert "not reachable" in r.json()["reason"]
