"""The access matrix through the HTTP routes: every caller of the matrix (each role, two
agencies, strangers of the same agency) and the deployment's operators, on every route of the
hub, over the real database. Whoever the matrix does not allow an action is refused (403) on
each route that takes it, and nothing is written: the routes are wired to the rules that
test_access.py checks."""

from __future__ import annotations

import pytest
from mend_events.messaging.topics import ensure_topics
from mend_hub import access
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import Callers, public_pem, two_agencies
from mend_testkit.matrix import MATRIX_AGENCY, MATRIX_CASE, MATRIX_HP, matrix_callers

PRAC = "prac-0001aa"  # the matrix's allocated practitioner, enrolled in agency A here
A = MATRIX_AGENCY
ROUTES = [
    # (method, path, body, action)
    ("POST", "/agencies", {"agency_id": "agency-z", "name": "Z"}, access.GOVERN),
    ("POST", f"/agencies/{A}/suspension", {"reason": "other"}, access.GOVERN),
    ("POST", f"/agencies/{A}/reinstatement", None, access.GOVERN),
    ("GET", f"/agencies/{A}", None, access.READ_AGENCY),
    ("POST", f"/agencies/{A}/keys", {"kid": "kz", "public_key_pem": public_pem()},
     access.CONFIGURE),
    ("POST", f"/agencies/{A}/keys/dev/retirement", None, access.CONFIGURE),
    ("POST", f"/agencies/{A}/identity-provider",
     {"issuer": "https://idp.example", "jwks_url": "https://idp.example/jwks"}, access.CONFIGURE),
    ("POST", f"/agencies/{A}/staff", {"person_id": "prac-0009aa", "role": "practitioner"},
     access.STAFF_WRITE),
    ("POST", f"/agencies/{A}/staff", {"person_id": "coord-0009aa", "role": "coordinator"},
     access.ENROL_COORDINATOR),
    ("POST", f"/agencies/{A}/staff/{PRAC}/qualifications",
     {"rj_trained": True, "sexual_harm_trained": True, "level": 1}, access.STAFF_WRITE),
    ("POST", f"/agencies/{A}/staff/{PRAC}/deactivation", {"reason": "other"}, access.STAFF_WRITE),
    ("POST", f"/agencies/{A}/staff/{PRAC}/reactivation", None, access.STAFF_WRITE),
    ("GET", f"/agencies/{A}/staff", None, access.STAFF_LIST),
    ("POST", f"/cases/{MATRIX_CASE}/allocations", {"practitioner_id": PRAC}, access.ALLOCATE),
    ("POST", f"/cases/{MATRIX_CASE}/allocations/{PRAC}/end", {"reason": "other"},
     access.ALLOCATE),
    ("POST", f"/cases/{MATRIX_CASE}/allocations/reallocation",
     {"from_practitioner_id": PRAC, "to_practitioner_id": "prac-aaaa02", "reason": "other"},
     access.ALLOCATE),
    ("GET", f"/cases/{MATRIX_CASE}/allocations", None, access.HISTORY),
    ("GET", f"/practitioners/{PRAC}/caseload", None, access.CASELOAD),
]  # fmt: skip
ALLOWED = {
    access.GOVERN: {"deployment operator"},
    access.READ_AGENCY: {"coordinator", "auditor", "deployment operator"},
    access.CONFIGURE: {"coordinator"},
    access.STAFF_WRITE: {"coordinator"},
    access.ENROL_COORDINATOR: {"coordinator", "deployment operator"},
    access.STAFF_LIST: {"coordinator", "auditor"},
    access.CASELOAD: {"allocated practitioner", "coordinator", "auditor"},
    access.ALLOCATE: {"coordinator"},
    access.HISTORY: {"coordinator", "auditor"},
}


@pytest.fixture
async def hub(platform, unique, topic_prefix, token, monkeypatch):
    monkeypatch.delenv("MEND_HUB_OPERATOR_AGENCY", raising=False)
    await ensure_topics(platform.kafka_bootstrap, ["sessions"], prefix=topic_prefix)
    async with running_service(build, "hub", platform, unique, topic_prefix) as (client, _, rt):
        await two_agencies(client, Callers(token))
        r = await client.post(
            f"/agencies/{A}/staff",
            json={"person_id": PRAC, "role": "practitioner"},
            headers=Callers(token).coordinator(A),
        )
        assert r.status_code == 201, r.text
        await open_case(rt, MATRIX_CASE, MATRIX_HP, agency=A)
        yield client, rt


async def test_every_route_refuses_whom_the_matrix_refuses_and_writes_nothing(hub, token):
    client, runtime = hub
    # Allocations are the hub's own events, never a token's claim: callers are who and where.
    callers = {name: (i.role, i.person_id, i.agency) for name, i in matrix_callers().items()}
    callers["deployment operator"] = ("operator", "ops-0002aa", access.DEFAULT_OPERATOR_AGENCY)
    before = await runtime.store.head_position()
    leaks = []
    for name, (role, person, agency) in callers.items():
        headers = token(role, person, agency)
        for method, path, body, action in ROUTES:
            if name in ALLOWED[action]:
                continue
            r = await client.request(method, path, json=body, headers=headers)
            if r.status_code != 403:
                leaks.append(f"{name} {method} {path}: {r.status_code}")
    assert leaks == []
    assert await runtime.store.head_position() == before
