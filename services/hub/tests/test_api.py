"""The hub's HTTP API on the real database (and broker, under the runtime): agencies, staff
and allocations end to end, the refusals with their field and reason, and the reads."""

from __future__ import annotations

import pytest
from mend_events.messaging.topics import ensure_topics
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import (
    CASE_A,
    CASE_B,
    COORD_A,
    PRAC_1,
    PRAC_2,
    PRAC_B,
    A,
    B,
    Callers,
    enrol,
    onboard,
    public_pem,
    two_agencies,
)


@pytest.fixture
async def hub(platform, unique, topic_prefix):
    await ensure_topics(platform.kafka_bootstrap, ["sessions"], prefix=topic_prefix)
    async with running_service(build, "hub", platform, unique, topic_prefix) as running:
        yield running


@pytest.fixture
def who(token) -> Callers:
    return Callers(token)


@pytest.fixture
async def world(hub, who):
    client, _, runtime = hub
    await two_agencies(client, who)
    await open_case(runtime, CASE_A, "hp-aaaa0001", agency=A)
    await open_case(runtime, CASE_B, "hp-bbbb0001", agency=B)
    return client, runtime


def refused(r, status: int, field: str | None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["field"] == field and body["reason"], body


# --- agencies --------------------------------------------------------------------------------


async def test_an_operator_onboards_an_agency_and_its_coordinator_reads_it(hub, who):
    client, _, _ = hub
    await onboard(client, who, A, keys=2)
    r = await client.get(f"/agencies/{A}", headers=who.coordinator(A))
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["sign_in"] == "local" and record["suspended"] is None
    assert [k["kid"] for k in record["keys"]] == ["dev", "k1"]
    again = await client.post(
        "/agencies", json={"agency_id": A, "name": "Again"}, headers=who.operator()
    )
    refused(again, 409, "agency_id")


async def test_only_the_deployments_operators_onboard(hub, who):
    client, _, _ = hub
    body = {"agency_id": "agency-c", "name": "C"}
    for headers in (who.operator(A), who.coordinator(A)):
        refused(await client.post("/agencies", json=body, headers=headers), 403, None)


async def test_key_rotation_overlaps_and_the_last_local_key_stays(hub, who):
    client, _, _ = hub
    await onboard(client, who, A, keys=1)
    keys = f"/agencies/{A}/keys"
    last = await client.post(f"{keys}/dev/retirement", headers=who.coordinator())
    refused(last, 422, "kid")
    added = await client.post(
        keys, json={"kid": "k1", "public_key_pem": public_pem()}, headers=who.coordinator()
    )
    assert added.status_code == 201, added.text
    same_kid = await client.post(
        keys, json={"kid": "k1", "public_key_pem": public_pem()}, headers=who.coordinator()
    )
    refused(same_kid, 409, "kid")
    later = "2030-01-01T00:00:00+00:00"
    r = await client.post(
        f"{keys}/dev/retirement", json={"retired_at": later}, headers=who.coordinator()
    )
    assert r.status_code == 201, r.text
    record = (await client.get(f"/agencies/{A}", headers=who.coordinator())).json()
    assert [(k["kid"], k["retired_at"]) for k in record["keys"]] == [
        ("dev", "2030-01-01T00:00:00+00:00"),
        ("k1", None),
    ]
    not_a_key = await client.post(
        keys, json={"kid": "k2", "public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                    "-----END PUBLIC KEY-----\n"},
        headers=who.coordinator(),
    )  # fmt: skip
    refused(not_a_key, 422, "public_key_pem")
    assert "AAAA" not in not_a_key.text


async def test_suspension_twice_is_a_conflict_and_blocks_staff_changes(world, who):
    client, _ = world
    r = await client.post(
        f"/agencies/{A}/suspension", json={"reason": "under_review"}, headers=who.operator()
    )
    assert r.status_code == 201, r.text
    again = await client.post(
        f"/agencies/{A}/suspension", json={"reason": "other"}, headers=who.operator()
    )
    refused(again, 409, "agency_id")
    enrol = await client.post(
        f"/agencies/{A}/staff",
        json={"person_id": "prac-aaaa09", "role": "practitioner"},
        headers=who.coordinator(),
    )
    # Refused at admission: the suspended agency's staff act nowhere at the hub.
    refused(enrol, 403, None)
    back = await client.post(f"/agencies/{A}/reinstatement", headers=who.operator())
    assert back.status_code == 201, back.text
    refused(await client.post(f"/agencies/{A}/reinstatement", headers=who.operator()), 409,
            "agency_id")  # fmt: skip


async def test_an_oidc_agency_sets_its_identity_provider(hub, who):
    client, _, _ = hub
    body = {"agency_id": A, "name": "A", "sign_in": "oidc"}
    assert (await client.post("/agencies", json=body, headers=who.operator())).status_code == 201
    await enrol(client, who, A, COORD_A, "coordinator")
    idp = {"issuer": "http://127.0.0.1:9000", "jwks_url": "http://127.0.0.1:9000/jwks"}
    path = f"/agencies/{A}/identity-provider"
    first = await client.post(path, json=idp, headers=who.coordinator())
    assert first.status_code == 201, first.text
    assert (await client.post(path, json=idp, headers=who.coordinator())).status_code == 200
    record = (await client.get(f"/agencies/{A}", headers=who.coordinator())).json()
    assert record["identity_provider"]["role_claim"] == "mend_role"


async def test_a_coordinator_adopts_a_rule_pack_version(hub, who):
    client, _, _ = hub
    body = {"agency_id": A, "name": "A"}
    assert (await client.post("/agencies", json=body, headers=who.operator())).status_code == 201
    await enrol(client, who, A, COORD_A, "coordinator")
    path = f"/agencies/{A}/rule-pack"
    record = (await client.get(f"/agencies/{A}", headers=who.coordinator())).json()
    assert record["rule_pack"] is None  # the default pack is in force
    pack = {"pack_id": "england-wales", "version": 2}
    first = await client.post(path, json=pack, headers=who.coordinator())
    assert first.status_code == 201, first.text
    assert (await client.post(path, json=pack, headers=who.coordinator())).status_code == 200
    record = (await client.get(f"/agencies/{A}", headers=who.coordinator())).json()
    assert record["rule_pack"] == "england-wales@2"
    # A version Mend does not ship: named, never echoed, nothing written.
    r = await client.post(path, json={"pack_id": "england-wales", "version": 77},
                          headers=who.coordinator())  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "version" and "77" not in r.text
    r = await client.post(path, json={"pack_id": "Nowhere!", "version": 1},
                          headers=who.coordinator())  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "pack_id"


# --- staff -----------------------------------------------------------------------------------


async def test_the_staff_list_shows_roles_qualifications_and_status(world, who):
    client, runtime = world
    r = await client.post(
        f"/agencies/{A}/staff/{PRAC_2}/deactivation",
        json={"reason": "left_agency"},
        headers=who.coordinator(),
    )
    assert r.status_code == 201, r.text
    await runtime.settle()
    listed = (await client.get(f"/agencies/{A}/staff", headers=who.auditor())).json()["staff"]
    by_id = {s["person_id"]: s for s in listed}
    assert set(by_id) == {COORD_A, "aud-aaaa01", PRAC_1, PRAC_2}
    assert by_id[PRAC_1]["qualifications"] == {
        "rj_trained": True, "sexual_harm_trained": True, "level": 2,
        "specialisms": ["survivor_specialist"],
    }  # fmt: skip
    assert by_id[PRAC_2]["active"] is False and by_id[COORD_A]["role"] == "coordinator"


async def test_another_agencys_staff_are_not_found(world, who):
    client, _ = world
    r = await client.post(
        f"/agencies/{A}/staff/{PRAC_B}/deactivation",
        json={"reason": "other"},
        headers=who.coordinator(A),
    )
    refused(r, 404, "person_id")
    other = await client.post(
        f"/agencies/{B}/staff/{PRAC_B}/deactivation",
        json={"reason": "other"},
        headers=who.coordinator(A),
    )
    refused(other, 403, None)


# --- allocations -----------------------------------------------------------------------------


async def allocate(client, who, practitioner: str, case: str = CASE_A, agency: str = A):
    return await client.post(
        f"/cases/{case}/allocations",
        json={"practitioner_id": practitioner, "reason": "new_case"},
        headers=who.coordinator(agency),
    )


async def test_allocation_reallocation_and_the_history(world, who):
    client, runtime = world
    assert (await allocate(client, who, PRAC_1)).status_code == 201
    assert (await allocate(client, who, PRAC_1)).status_code == 200  # already allocated
    r = await client.post(
        f"/cases/{CASE_A}/allocations/reallocation",
        json={"from_practitioner_id": PRAC_1, "to_practitioner_id": PRAC_2,
              "reason": "participant_request"},
        headers=who.coordinator(),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert [e["type"] for e in r.json()["events"]] == ["CaseDeallocated", "CaseAllocated"]
    history = (await client.get(f"/cases/{CASE_A}/allocations", headers=who.coordinator())).json()
    assert [a["practitioner_id"] for a in history["allocated"]] == [PRAC_2]
    rows = [(h["type"], h["practitioner_id"], h["reason"], h["by"]) for h in history["history"]]
    assert rows == [
        ("CaseAllocated", PRAC_1, "new_case", COORD_A),
        ("CaseDeallocated", PRAC_1, "participant_request", COORD_A),
        ("CaseAllocated", PRAC_2, "participant_request", COORD_A),
    ]  # fmt: skip
    await runtime.settle()
    old = await client.get(f"/practitioners/{PRAC_1}/caseload", headers=who.practitioner(PRAC_1))
    new = await client.get(f"/practitioners/{PRAC_2}/caseload", headers=who.coordinator())
    assert old.json()["cases"] == []
    assert [c["case_id"] for c in new.json()["cases"]] == [CASE_A]


async def test_a_coordinator_allocates_only_to_their_agencys_known_cases(world, who):
    client, _ = world
    refused(await allocate(client, who, PRAC_1, case=CASE_B), 403, "case_id")
    refused(await allocate(client, who, PRAC_1, case="case-unknown01"), 404, "case_id")
    refused(await allocate(client, who, PRAC_B), 404, "practitioner_id")  # another agency's
    refused(await allocate(client, who, COORD_A), 422, "practitioner_id")  # not a practitioner


async def test_deactivation_ends_every_allocation_at_once(world, who):
    client, runtime = world
    await open_case(runtime, "case-aaaa0002", "hp-aaaa0002", agency=A)
    assert (await allocate(client, who, PRAC_1)).status_code == 201
    assert (await allocate(client, who, PRAC_1, case="case-aaaa0002")).status_code == 201
    r = await client.post(
        f"/agencies/{A}/staff/{PRAC_1}/deactivation",
        json={"reason": "security_concern"},
        headers=who.coordinator(),
    )
    assert r.status_code == 201, r.text
    for case in (CASE_A, "case-aaaa0002"):
        history = (await client.get(f"/cases/{case}/allocations", headers=who.auditor())).json()
        assert history["allocated"] == []
        ended = history["history"][-1]
        assert (ended["type"], ended["reason"], ended["by_role"]) == (
            "CaseDeallocated", "staff_deactivated", "system",
        )  # fmt: skip
        assert ended["caused_by"] == r.json()["events"][0]["event_id"]
    refused(await allocate(client, who, PRAC_1), 422, "practitioner_id")


async def test_a_practitioner_reads_only_their_own_caseload(world, who):
    client, _ = world
    mine = await client.get(f"/practitioners/{PRAC_1}/caseload", headers=who.practitioner())
    assert mine.status_code == 200
    theirs = await client.get(f"/practitioners/{PRAC_2}/caseload", headers=who.practitioner())
    refused(theirs, 403, None)
    other = await client.get(f"/practitioners/{PRAC_B}/caseload", headers=who.coordinator(A))
    refused(other, 403, None)


async def test_bad_input_is_a_422_naming_the_field(world, who):
    client, _ = world
    r = await client.post(
        f"/cases/{CASE_A}/allocations",
        json={"practitioner_id": "Jane Doe", "reason": "new_case"},
        headers=who.coordinator(),
    )
    refused(r, 422, "practitioner_id")
    assert "Jane" not in r.text
    by_hand = await client.post(
        f"/cases/{CASE_A}/allocations",
        json={"practitioner_id": PRAC_1, "reason": "staff_deactivated"},
        headers=who.coordinator(),
    )
    refused(by_hand, 422, "reason")


async def test_the_openapi_document_names_every_route(hub):
    client, _, _ = hub
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {
        "/agencies",
        "/agencies/{agency_id}/keys/{kid}/retirement",
        "/agencies/{agency_id}/staff/{person_id}/deactivation",
        "/cases/{case_id}/allocations/reallocation",
        "/practitioners/{person_id}/caseload",
    } <= set(paths)
    assert paths["/agencies/{agency_id}/suspension"]["post"]["summary"].startswith("Suspend")


async def test_agency_bs_coordinator_neither_sees_nor_changes_agency_as_records(world, who):
    client, runtime = world
    assert (await allocate(client, who, PRAC_1)).status_code == 201
    before = await runtime.store.head_position()
    b = who.coordinator(B)
    writes = [
        (f"/agencies/{A}/keys", {"kid": "kb", "public_key_pem": public_pem()}),
        (f"/agencies/{A}/keys/dev/retirement", None),
        (f"/agencies/{A}/staff", {"person_id": "prac-bbbb09", "role": "practitioner"}),
        (f"/agencies/{A}/staff/{PRAC_1}/deactivation", {"reason": "other"}),
        (f"/agencies/{A}/staff/{PRAC_2}/reactivation", None),
        (f"/agencies/{A}/staff/{PRAC_1}/qualifications",
         {"rj_trained": False, "sexual_harm_trained": False, "level": 1}),
        (f"/agencies/{A}/suspension", {"reason": "other"}),
        (f"/cases/{CASE_A}/allocations", {"practitioner_id": PRAC_B}),
        (f"/cases/{CASE_A}/allocations/{PRAC_1}/end", {"reason": "other"}),
        (f"/cases/{CASE_A}/allocations/reallocation",
         {"from_practitioner_id": PRAC_1, "to_practitioner_id": PRAC_B, "reason": "other"}),
    ]  # fmt: skip
    for path, body in writes:
        r = await client.post(path, json=body, headers=b)
        assert r.status_code == 403, (path, r.text)
    reads = [f"/agencies/{A}", f"/agencies/{A}/staff", f"/cases/{CASE_A}/allocations",
             f"/practitioners/{PRAC_1}/caseload"]  # fmt: skip
    for path in reads:
        r = await client.get(path, headers=b)
        assert r.status_code == 403, (path, r.text)
        assert PRAC_1 not in r.text
    assert await runtime.store.head_position() == before


async def test_a_retried_request_with_its_idempotency_key_writes_nothing_twice(hub, who):
    client, _, runtime = hub
    body = {"agency_id": A, "name": "North RJ"}
    headers = {**who.operator(), "Idempotency-Key": "onboard-a-1"}
    first = await client.post("/agencies", json=body, headers=headers)
    again = await client.post("/agencies", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["version"] == first.json()["version"] == 1
    other = await client.post("/agencies", json={**body, "name": "Other"}, headers=headers)
    refused(other, 422, "Idempotency-Key")
    # The agency and the first signing key its onboarding made (a local agency), once.
    assert await runtime.store.head_position() == 2


async def test_a_coordinator_sets_the_agencys_sharing_key_for_partners(hub, who):
    import base64

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    client, _, runtime = hub
    await onboard(client, who, A)
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    path = f"/agencies/{A}/sharing-key"
    first = await client.post(path, json={"kid": "share-1", "public_key": key},
                              headers=who.coordinator())  # fmt: skip
    assert first.status_code == 201, first.text
    again = await client.post(path, json={"kid": "share-1", "public_key": key},
                              headers=who.coordinator())  # fmt: skip
    assert again.status_code == 200
    other = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    reused = await client.post(path, json={"kid": "share-1", "public_key": other},
                               headers=who.coordinator())  # fmt: skip
    refused(reused, 409, "kid")
    refused(await client.post(path, json={"kid": "k2", "public_key": "short"},
                              headers=who.coordinator()), 422, "public_key")  # fmt: skip
    record = (await client.get(f"/agencies/{A}", headers=who.coordinator())).json()
    assert record["sharing_key"] == {"kid": "share-1", "algorithm": "X25519", "public_key": key}
    events = await runtime.store.read_stream(f"agency:{A}")
    assert events[-1].event_type == "AgencySharingKeySet"
