"""Who may do what in the hub, as a matrix of callers x actions (deny by default): every role,
two agencies, strangers of the same agency, and the deployment's operators (an operator of
the operating agency, `mend-ops`), on agency A's records and on a case of agency A.

The same matrix through the HTTP routes, over the real database: whoever the matrix does not
allow an action is refused (403) on each route that takes it, and nothing is written (the
routes are wired to the rules checked here)."""

from __future__ import annotations

import pytest
from mend_events.contracts.actors import Role
from mend_events.messaging.topics import ensure_topics
from mend_events.security.identity import Identity
from mend_hub import access
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import Callers, public_pem, two_agencies
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    MATRIX_CASE,
    MATRIX_HP,
    MATRIX_VOLUNTEER,
    OTHER_AGENCY,
    assert_unknown_case_is_404,
    granted,
    leaks,
    matrix_callers,
    matrix_entry,
)

# The matrix's allocated practitioner: whose caseload is asked (enrolled in agency A over HTTP).
OWN_PRACTITIONER = "prac-0001aa"


def callers() -> dict[str, Identity]:
    return {
        **matrix_callers(),
        "deployment operator": Identity(
            access.DEFAULT_OPERATOR_AGENCY, Role.OPERATOR, "ops-0002aa"
        ),
        # the operating agency's other staff have no say over agencies
        "deployment coordinator": Identity(
            access.DEFAULT_OPERATOR_AGENCY, Role.COORDINATOR, "coord-0002aa"
        ),
    }


AGENCY_ACTIONS = (
    access.GOVERN,
    access.READ_AGENCY,
    access.CONFIGURE,
    access.STAFF_WRITE,
    access.ENROL_COORDINATOR,
    access.STAFF_LIST,
    access.CASELOAD,
    access.VOLUNTEER_WRITE,
    access.VOLUNTEER_READ,
)
CASE_ACTIONS = (access.ALLOCATE, access.HISTORY)
EXPECTED = {
    access.GOVERN: {"deployment operator"},
    access.READ_AGENCY: {"coordinator", "auditor", "deployment operator"},
    access.CONFIGURE: {"coordinator"},
    access.STAFF_WRITE: {"coordinator"},
    access.ENROL_COORDINATOR: {"coordinator", "deployment operator"},
    access.STAFF_LIST: {"coordinator", "auditor"},
    # a practitioner's caseload: theirs, their coordinators', their agency's auditors'
    access.CASELOAD: {"allocated practitioner", "coordinator", "auditor"},
    access.ALLOCATE: {"coordinator"},
    access.HISTORY: {"coordinator", "auditor"},
    # a volunteer's vetting and training: recorded by coordinators, read by them and auditors
    # (and by the volunteer themselves: test_a_volunteer_reads_only_their_own_record)
    access.VOLUNTEER_WRITE: {"coordinator"},
    access.VOLUNTEER_READ: {"coordinator", "auditor"},
}


def on_agency(identity: Identity, action: str) -> bool:
    return granted(
        lambda i, a, agency, **kw: access.authorize(i, a, agency, **kw),
        identity,
        action,
        MATRIX_AGENCY,
        person_id=OWN_PRACTITIONER,
    )


def on_case(identity: Identity, action: str) -> bool:
    return granted(access.authorize_on_case, identity, action, matrix_entry())


@pytest.fixture(autouse=True)
def _default_operator_agency(monkeypatch):
    monkeypatch.delenv("MEND_HUB_OPERATOR_AGENCY", raising=False)


def test_matrix_two_agencies_strangers_and_operators_has_no_leaks() -> None:
    outcomes = {}
    for name, identity in callers().items():
        for action in AGENCY_ACTIONS:
            outcomes[(name, action)] = on_agency(identity, action)
        for action in CASE_ACTIONS:
            outcomes[(name, action)] = on_case(identity, action)
    assert leaks(outcomes, EXPECTED) == []


def test_a_volunteer_reads_only_their_own_record_and_caseload() -> None:
    """Their own vetting and training and their own cases (each with its part): not another
    volunteer's, not in another agency; nothing else of the hub (the matrix above)."""
    people = matrix_callers()
    mine = people["allocated volunteer"]

    def may(identity: Identity, action: str, person: str) -> bool:
        return granted(
            lambda i, a, agency, **kw: access.authorize(i, a, agency, **kw),
            identity, action, MATRIX_AGENCY, person_id=person,
        )  # fmt: skip

    for action in (access.VOLUNTEER_READ, access.CASELOAD):
        assert may(mine, action, MATRIX_VOLUNTEER)
        assert not may(mine, action, "vol-0009zz")
        assert not may(people["unallocated volunteer"], action, MATRIX_VOLUNTEER)
        assert not may(people[f"allocated volunteer of {OTHER_AGENCY}"], action, MATRIX_VOLUNTEER)
    assert not on_agency(mine, access.VOLUNTEER_WRITE)


def test_an_allocation_on_a_case_not_known_here_is_404_for_everyone() -> None:
    assert_unknown_case_is_404(access.authorize_on_case, CASE_ACTIONS, lambda identity: None)


def test_the_operating_agency_is_the_deployments_setting(monkeypatch) -> None:
    monkeypatch.setenv("MEND_HUB_OPERATOR_AGENCY", "hub-ops")
    moved = Identity("hub-ops", Role.OPERATOR, "ops-0003aa")
    assert on_agency(moved, access.GOVERN)
    assert not on_agency(callers()["deployment operator"], access.GOVERN)


# ---- through the HTTP routes ---------------------------------------------------------------

A, PRAC, VOL = MATRIX_AGENCY, OWN_PRACTITIONER, "vol-0002aa"  # VOL: enrolled, not the caller
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
    ("POST", f"/agencies/{A}/rule-pack", {"pack_id": "england-wales", "version": 2},
     access.CONFIGURE),
    ("POST", f"/agencies/{A}/sharing-key", {"kid": "share-1", "public_key": "A" * 43},
     access.CONFIGURE),
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
    ("POST", f"/agencies/{A}/staff/{VOL}/vetting",
     {"check": "references", "outcome": "clear", "checked_on": "2026-01-05",
      "valid_until": "2027-01-05"}, access.VOLUNTEER_WRITE),
    ("POST", f"/agencies/{A}/staff/{VOL}/training",
     {"course": "safeguarding", "completed_on": "2026-01-05"}, access.VOLUNTEER_WRITE),
    ("GET", f"/agencies/{A}/volunteers/{VOL}", None, access.VOLUNTEER_READ),
    ("POST", f"/cases/{MATRIX_CASE}/volunteers", {"volunteer_id": VOL, "part": "support_person"},
     access.ALLOCATE),
    ("POST", f"/cases/{MATRIX_CASE}/volunteers/{VOL}/end", {"reason": "other"}, access.ALLOCATE),
    ("GET", f"/practitioners/{PRAC}/caseload", None, access.CASELOAD),
]  # fmt: skip


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
        # The matrix's volunteer enrolled too, so the hub admits them and its rules refuse.
        for volunteer in (VOL, MATRIX_VOLUNTEER):
            r = await client.post(
                f"/agencies/{A}/staff",
                json={"person_id": volunteer, "role": "volunteer"},
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
            if name in EXPECTED[action]:
                continue
            r = await client.request(method, path, json=body, headers=headers)
            if r.status_code != 403:
                leaks.append(f"{name} {method} {path}: {r.status_code}")
    assert leaks == []
    assert await runtime.store.head_position() == before
