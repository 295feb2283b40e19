"""The circles service on the real broker and database, with the consent service running for
real on the same topics: consent is given and withdrawn through the consent API, and reaches
circles over Kafka through its inbox consumer.

Cases are made known to both services as the sessions service's CaseOpened and
ParticipantEnrolled would (mend_testkit.directory.open_case): nothing of sessions is under test.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from bus_helpers import wait_until
from mend_circles.app import build
from mend_consent.app import build as build_consent
from mend_events.contracts.catalog.consent import circle_scope
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.samples import consent_body

A, B = "agency-a", "agency-b"
FAC, OTHER_FAC, PRAC_B = "prac-fac001", "prac-oth002", "prac-bbb003"
COORD, AUDITOR = "coord-aaa01", "aud-aaa001"
ANN, BEA, CAT, ROB, DAN = "hp-ann001", "hp-bea002", "hp-cat003", "rp-rob001", "hp-dan004"
STRANGER = "hp-zed009"
CASES = {
    ANN: "case-aaaa0001",
    BEA: "case-aaaa0002",
    CAT: "case-aaaa0003",
    ROB: "case-aaaa0001",
    STRANGER: "case-aaaa0009",
    DAN: "case-bbbb0001",
}
CIRCLE_A, CIRCLE_B = "circle-aaaa0001", "circle-bbbb0002"
# What no member may ever read of another: any case id, person id or role of the platform.
SECRETS = (*set(CASES.values()), ANN, BEA, CAT, ROB, DAN, STRANGER, FAC, "harmed_person",
           "responsible_person", "grant")  # fmt: skip


@pytest.fixture
async def world(platform, unique, topic_prefix):
    async with contextlib.AsyncExitStack() as stack:
        consent = await stack.enter_async_context(
            running_service(
                build_consent, "consent", platform, unique, topic_prefix, lapse_interval=3600
            )
        )
        circles = await stack.enter_async_context(
            running_service(build, "circles", platform, unique, topic_prefix)
        )
        for _, _, runtime in (consent, circles):
            await open_case(runtime, CASES[ANN], ANN, members={ROB: "responsible_person"})
            for hp in (BEA, CAT, STRANGER):
                await open_case(runtime, CASES[hp], hp)
            await open_case(runtime, CASES[DAN], DAN, agency=B)
        # A facilitator names only the people of cases allocated to them.
        for person, facilitator in ((ANN, FAC), (BEA, FAC), (CAT, OTHER_FAC)):
            await allocate([circles[2]], CASES[person], facilitator)
        yield consent[0], circles[0], circles[2]


async def _grant_known(runtime, person: str, circle: str) -> bool:
    async with runtime.pool.acquire() as conn:
        return bool(
            await conn.fetchval(
                f"SELECT count(*) FROM {runtime.schema}.circle_grants "
                f"WHERE participant_id = $1 AND circle_id = $2 AND ended_by IS NULL",
                person,
                circle,
            )
        )


async def consent_to(consent, circles_rt, token, person: str, circle: str) -> UUID:
    """The person's own consent to take part in `circle`, through the consent API; returns
    once the circles service has it (over the broker)."""
    body = consent_body(person, circle_scope(circle))
    r = await consent.post(f"/cases/{CASES[person]}/consents", json=body,
                           headers=token("harmed_person", person))  # fmt: skip
    assert r.status_code == 201, r.text
    await wait_until(lambda: _grant_known(circles_rt, person, circle))
    return UUID(r.json()["events"][0]["event_id"])


async def form(client, token, circle: str, facilitator: str = FAC, kind: str = "survivors"):
    r = await client.post(f"/circles/{circle}/form", json={"kind": kind},
                          headers=token("practitioner", facilitator))  # fmt: skip
    assert r.status_code == 201, r.text


async def invite(client, token, circle: str, person: str, facilitator: str = FAC):
    r = await client.post(f"/circles/{circle}/invitations",
                          json={"person_id": person, "case_id": CASES[person]},
                          headers=token("practitioner", facilitator))  # fmt: skip
    assert r.status_code == 201, r.text


def assert_no_secrets(text: str, *allowed: str) -> None:
    leaked = [s for s in SECRETS if s in text and s not in allowed]
    assert leaked == [], f"leaked {leaked}: {text}"


async def test_members_know_each_other_only_by_alias_and_nothing_of_other_circles(world, token):
    consent, circles, rt = world
    hp = lambda person: token("harmed_person", person)  # noqa: E731
    await form(circles, token, CIRCLE_A)
    await form(circles, token, CIRCLE_B, facilitator=OTHER_FAC)
    for person in (ANN, BEA):
        await invite(circles, token, CIRCLE_A, person)
    await invite(circles, token, CIRCLE_B, CAT, facilitator=OTHER_FAC)

    # Not a survivors' circle member: the responsible person of Ann's own case; nor a person
    # of another agency's case; and the facilitator of B may not invite into A.
    r = await circles.post(f"/circles/{CIRCLE_A}/invitations",
                           json={"person_id": ROB, "case_id": CASES[ROB]},
                           headers=token("practitioner", FAC))  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "person_id"
    assert_no_secrets(r.text)
    for person in (DAN, STRANGER):  # another agency's case; a case not allocated to FAC
        r = await circles.post(f"/circles/{CIRCLE_A}/invitations",
                               json={"person_id": person, "case_id": CASES[person]},
                               headers=token("practitioner", FAC))  # fmt: skip
        assert r.status_code == 403, r.text
    r = await circles.post(f"/circles/{CIRCLE_A}/invitations",
                           json={"person_id": CAT, "case_id": CASES[CAT]},
                           headers=token("practitioner", OTHER_FAC))  # fmt: skip
    assert r.status_code == 404

    # Joining needs the person's own consent in force.
    r = await circles.post(f"/circles/{CIRCLE_A}/membership", headers=hp(ANN))
    assert r.status_code == 422 and r.json()["field"] == "consent"
    for person, alias in ((ANN, {"alias": "Robin"}), (BEA, None)):
        await consent_to(consent, rt, token, person, CIRCLE_A)
        r = await circles.post(f"/circles/{CIRCLE_A}/membership", json=alias, headers=hp(person))
        assert r.status_code == 201, r.text
    await consent_to(consent, rt, token, CAT, CIRCLE_B)
    r = await circles.post(f"/circles/{CIRCLE_B}/membership", headers=hp(CAT))
    assert r.status_code == 201

    # A member's view: seats and aliases, no ids of any kind, through every read.
    r = await circles.get(f"/circles/{CIRCLE_A}", headers=hp(BEA))
    assert r.status_code == 200
    assert r.json()["members"] == [{"seat": 1, "name": "Robin"}, {"seat": 2, "name": "Member 2"}]
    assert_no_secrets(r.text)
    r = await circles.get("/circles", headers=hp(ANN))
    assert r.json() == {"circles": [{"circle_id": CIRCLE_A}]}
    sid = str(uuid4())
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = await circles.post(f"/circles/{CIRCLE_A}/sessions",
                           json={"session_id": sid, "starts_at": starts},
                           headers=token("practitioner", FAC))  # fmt: skip
    assert r.status_code == 201
    r = await circles.post(f"/circles/{CIRCLE_A}/sessions/{sid}/halt", headers=hp(BEA))
    assert r.status_code == 201  # anyone in the circle halts a meeting, no reason owed
    r = await circles.post(f"/circles/{CIRCLE_A}/sessions/{sid}/held",
                           headers=token("practitioner", FAC))  # fmt: skip
    assert r.status_code == 422  # a halted meeting never resumes
    for path in (f"/circles/{CIRCLE_A}", f"/circles/{CIRCLE_A}/sessions/{sid}/halt"):
        r = await (circles.get if "halt" not in path else circles.post)(path, headers=hp(ANN))
        assert_no_secrets(r.text)

    # Circle B is nothing to a member of A, nor A to B's member; the same 404 as no circle.
    for person, other in ((ANN, CIRCLE_B), (CAT, CIRCLE_A)):
        r = await circles.get(f"/circles/{other}", headers=hp(person))
        assert r.status_code == 404 and r.json()["field"] == "circle_id"
        assert_no_secrets(r.text)
    # Strangers of the same agency, another agency's staff, another facilitator: nothing.
    outsiders = [hp(STRANGER), token("practitioner", OTHER_FAC), token("practitioner", PRAC_B, B),
                 token("harmed_person", DAN, B), token("coordinator", COORD),
                 token("supporter", "sup-zzz009"), token("auditor", "aud-bbb001", B)]  # fmt: skip
    for headers in outsiders:
        r = await circles.get(f"/circles/{CIRCLE_A}", headers=headers)
        assert r.status_code == 404, r.text
        r = await circles.post(f"/circles/{CIRCLE_A}/membership", headers=headers)
        assert r.status_code == 404, r.text
    r = await circles.get("/circles", headers=hp(STRANGER))
    assert r.json() == {"circles": []}
    r = await circles.get("/circles", headers=token("practitioner", PRAC_B, B))
    assert r.json() == {"circles": []}
    r = await circles.get("/circles", headers=token("practitioner", OTHER_FAC))
    assert [c["circle_id"] for c in r.json()["circles"]] == [CIRCLE_B]  # only their own
    # The coordinator lists the agency's circles: no members.
    r = await circles.get("/circles", headers=token("coordinator", COORD))
    assert [c["circle_id"] for c in r.json()["circles"]] == [CIRCLE_A, CIRCLE_B]
    assert_no_secrets(r.text, FAC)
    # Staff who run it (and the agency's auditor) see who is in it, from which case.
    for headers in (token("practitioner", FAC), token("auditor", AUDITOR)):
        r = await circles.get(f"/circles/{CIRCLE_A}", headers=headers)
        assert r.status_code == 200
        assert [(m["person_id"], m["case_id"]) for m in r.json()["members"]] == [
            (ANN, CASES[ANN]), (BEA, CASES[BEA])]  # fmt: skip

    # Ann's alias is sealed under her own key: her erasure (in the consent service, over the
    # broker to circles' key store) leaves her seat, and the alias unreadable for good.
    r = await consent.post(f"/people/{ANN}/erasure", json={"basis": "data_subject_request"},
                           headers=hp(ANN))  # fmt: skip
    assert r.status_code == 201, r.text

    async def alias_gone() -> bool:
        r = await circles.get(f"/circles/{CIRCLE_A}", headers=hp(BEA))
        return r.json()["members"][0] == {"seat": 1, "name": "Member 1"}

    await wait_until(alias_gone)


async def test_a_withdrawal_of_circle_consent_halts_participation_at_once_once(world, token):
    consent, circles, rt = world
    hp = lambda person: token("harmed_person", person)  # noqa: E731
    await form(circles, token, CIRCLE_A)
    for person in (ANN, BEA):
        await invite(circles, token, CIRCLE_A, person)
        await consent_to(consent, rt, token, person, CIRCLE_A)
        r = await circles.post(f"/circles/{CIRCLE_A}/membership", headers=hp(person))
        assert r.status_code == 201

    # Ann withdraws the scope in the consent service (her own case); circles halts her at once.
    body = {"participant_id": ANN, "scope": circle_scope(CIRCLE_A)}
    r = await consent.post(f"/cases/{CASES[ANN]}/withdrawals", json=body, headers=hp(ANN))
    assert r.status_code == 201, r.text
    [withdrawal] = [UUID(e["event_id"]) for e in r.json()["events"]]

    async def halted() -> dict | None:
        r = await circles.get(f"/circles/{CIRCLE_A}", headers=token("practitioner", FAC))
        ann = r.json()["members"][0]
        return ann if ann["standing"] == "halted" else None

    ann = await wait_until(halted)
    assert ann["halted_by"] == str(withdrawal)
    stream = await rt.store.read_stream(CIRCLE_A)
    halts = [e for e in stream if e.event_type == "MemberParticipationHalted"]
    assert len(halts) == 1
    [halt] = halts
    assert halt.metadata.causation_id == withdrawal and halt.data["cause"] == "consent_withdrawn"
    assert halt.data["person_id"] == ANN and halt.metadata.actor_id == "svc-circles"
    # The auditor's history names the cause; as of before the withdrawal, she was still in.
    r = await circles.get(f"/circles/{CIRCLE_A}/history", headers=token("auditor", AUDITOR))
    [halt_row] = [e for e in r.json()["events"] if e["type"] == "MemberParticipationHalted"]
    assert halt_row["causation_id"] == str(withdrawal)
    assert halt_row["actor"] == {"id": "svc-circles", "role": "system"}
    recorded = datetime.fromisoformat(halt_row["recorded_at"])
    before = (recorded - timedelta(microseconds=1)).isoformat()
    r = await circles.get(f"/circles/{CIRCLE_A}/history", params={"as_of": before},
                          headers=token("auditor", AUDITOR))  # fmt: skip
    assert "MemberParticipationHalted" not in {e["type"] for e in r.json()["events"]}
    joined = [e for e in r.json()["events"] if e["type"] == "MemberJoined"]
    assert len(joined) == 2
    for headers in (hp(BEA), token("auditor", "aud-bbb001", B), token("coordinator", COORD)):
        r = await circles.get(f"/circles/{CIRCLE_A}/history", headers=headers)
        assert r.status_code in (403, 404) and "events" not in r.json()

    # Bea no longer sees her; Ann sees only her own standing; rejoining needs a new invitation.
    r = await circles.get(f"/circles/{CIRCLE_A}", headers=hp(BEA))
    assert r.json()["members"] == [{"seat": 2, "name": "Member 2"}]
    r = await circles.get(f"/circles/{CIRCLE_A}", headers=hp(ANN))
    assert r.json()["you"]["standing"] == "halted" and "members" not in r.json()
    assert_no_secrets(json.dumps(r.json()))
    r = await circles.post(f"/circles/{CIRCLE_A}/membership", headers=hp(ANN))
    assert r.status_code == 422
