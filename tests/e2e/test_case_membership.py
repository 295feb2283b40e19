"""Issue 14, items 1 and 2, end to end: the four services in process on the real broker and
database. A case belongs to the agency that opened it in the sessions service, and only its
members (the harmed person from the opening, others by their enrolment) act on it, in every
service; nobody becomes a participant by writing to a case first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bus_helpers import wait_until
from mend_aftercare.app import build as build_aftercare
from mend_consent.app import build as build_consent
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocate
from mend_testkit.fixtures import running_service
from mend_testkit.samples import consent_body as body_of

CASE = "case-memb0001"
HP, RP, PRAC = "hp-alice01", "rp-bob0001", "prac-carol1"
STRANGER_RP = "rp-mallory1"  # a responsible person of the same agency, in another case
BUILDS = {
    "sessions": build_sessions,
    "consent": build_consent,
    "risk": build_risk,
    "aftercare": build_aftercare,
}


@pytest.fixture
async def mend(platform, unique, topic_prefix) -> AsyncIterator[dict[str, Any]]:
    """service -> (client, app, runtime) for the four services on one topic prefix."""
    async with contextlib.AsyncExitStack() as stack:
        out = {}
        for service, build in BUILDS.items():
            client, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix)
            )
            out[service] = (client, app, runtime)
        yield out


def consent_body(person: str, scope: str = "take_part") -> dict[str, Any]:
    return body_of(person, scope)


async def known_everywhere(mend: dict[str, Any], headers: dict[str, str]) -> None:
    """Wait until consent, risk and aftercare have taken in, over Kafka, what makes the caller
    of `headers` one who may read the case (its opening, their enrolment)."""
    reads = {
        "consent": f"/cases/{CASE}/consents",
        "risk": f"/cases/{CASE}/safety-plans",
        "aftercare": f"/cases/{CASE}/aftercare",
    }
    for service, path in reads.items():
        client = mend[service][0]

        async def readable(client=client, path=path) -> bool:
            return (await client.get(path, headers=headers)).status_code == 200

        await wait_until(readable, timeout=60)


async def test_a_case_belongs_to_the_agency_that_opened_it_everywhere(mend, token):
    sessions, consent = mend["sessions"][0], mend["consent"][0]
    risk, aftercare = mend["risk"][0], mend["aftercare"][0]
    hp, prac = token("harmed_person", HP), token("practitioner", PRAC)
    intruder = token("responsible_person", RP, agency="agency-b")
    everywhere = [m[2] for m in mend.values()]
    await allocate(everywhere, CASE, PRAC)
    # The same practitioner id allocated to the same case id by another agency: still refused.
    await allocate(everywhere, CASE, PRAC, agency="agency-b")

    opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
    r = await sessions.post(f"/cases/{CASE}/open", json={**opening, "route": "self_referral"},
                            headers=hp)  # fmt: skip
    assert r.status_code == 201, r.text

    # Item 1: another agency's first consent on the case is refused (unknown yet, or known
    # as agency A's), and it never makes the case agency B's.
    r = await consent.post(f"/cases/{CASE}/consents", json=consent_body(RP), headers=intruder)
    assert r.status_code in (403, 404), r.text
    assert r.json()["field"] == "case_id"
    await known_everywhere(mend, prac)
    r = await consent.post(f"/cases/{CASE}/consents", json=consent_body(RP), headers=intruder)
    assert r.status_code == 403, r.text
    # The case's own harmed person and practitioner still work.
    r = await consent.post(f"/cases/{CASE}/consents", json=consent_body(HP), headers=hp)
    assert r.status_code == 201, r.text
    params = {"participant_id": HP, "scope": "take_part"}
    r = await consent.get(f"/cases/{CASE}/consent-state", params=params, headers=prac)
    assert r.status_code == 200 and r.json()["covered"] is True, r.text
    assert (await risk.get(f"/cases/{CASE}/risk", headers=prac)).status_code == 200
    assert (await aftercare.get(f"/cases/{CASE}/aftercare", headers=prac)).status_code == 200
    for headers in (intruder, token("practitioner", PRAC, agency="agency-b")):
        assert (await risk.get(f"/cases/{CASE}/safety-plans", headers=headers)).status_code == 403
        assert (await aftercare.get(f"/cases/{CASE}/aftercare", headers=headers)).status_code == 403
        assert (await sessions.get(f"/cases/{CASE}", headers=headers)).status_code == 403


async def open_in_sessions(mend: dict[str, Any], hp: dict[str, str], prac: dict) -> None:
    opening = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    r = await mend["sessions"][0].post(f"/cases/{CASE}/open", json=opening, headers=hp)
    assert r.status_code == 201, r.text
    await known_everywhere(mend, prac)


async def test_only_the_cases_members_act_on_it_in_every_service(mend, token):
    sessions, consent = mend["sessions"][0], mend["consent"][0]
    risk, aftercare = mend["risk"][0], mend["aftercare"][0]
    hp, prac = token("harmed_person", HP), token("practitioner", PRAC)
    stranger = token("responsible_person", STRANGER_RP)
    await allocate([m[2] for m in mend.values()], CASE, PRAC)
    await open_in_sessions(mend, hp, prac)

    # Item 2: a responsible person of the same agency who takes no part in this case gives no
    # consent on it, reads no after-care and writes no desistance plan into it.
    r = await consent.post(
        f"/cases/{CASE}/consents", json=consent_body(STRANGER_RP), headers=stranger
    )
    assert r.status_code == 403, r.text
    base = f"/cases/{CASE}/aftercare"
    assert (await aftercare.get(base, headers=stranger)).status_code == 403
    assert (await aftercare.post(f"{base}/desistance-plan", headers=stranger)).status_code == 403
    assert (await risk.get(f"/cases/{CASE}/safety-plans", headers=stranger)).status_code == 403
    assert (await sessions.get(f"/cases/{CASE}", headers=stranger)).status_code == 403
    # Nor may the practitioner enrol someone the harmed person did not agree to.
    enrol = {"person_id": RP, "role": "responsible_person"}
    r = await sessions.post(f"/cases/{CASE}/participants", json=enrol, headers=prac)
    assert r.status_code == 422 and r.json()["field"] == "person_id", r.text

    # The harmed person's agreement, then the enrolment: now the responsible person takes part.
    prefs = {"responsible_person_takes_part": True, "invited": [RP]}
    assert (await sessions.post(f"/cases/{CASE}/preferences", json=prefs, headers=hp)).is_success
    r = await sessions.post(f"/cases/{CASE}/participants", json=enrol, headers=prac)
    assert r.status_code == 201 and r.json()["events"][0]["type"] == "ParticipantEnrolled"
    rp = token("responsible_person", RP)
    await known_everywhere(mend, rp)
    r = await consent.post(f"/cases/{CASE}/consents", json=consent_body(RP), headers=rp)
    assert r.status_code == 201, r.text
    assert (await aftercare.get(base, headers=rp)).status_code == 200
    assert (await risk.get(f"/cases/{CASE}/safety-plans", headers=rp)).status_code == 200
    # ... and still nobody else: the stranger's consent attempt wrote nothing either.
    r = await consent.get(f"/cases/{CASE}/consents", headers=prac)
    assert {g["participant_id"] for g in r.json()["grants"]} == {RP}
