"""The sign-in's access matrix through its HTTP routes: every caller of the matrix (each role,
two agencies, strangers of the same agency) and the deployment's operators, over the real
database. Whoever the matrix does not allow an action is refused (403) on the route that takes
it, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mend_hub import access as hub_access
from mend_hub.app import build
from mend_hub.signin import access
from mend_testkit.fixtures import running_service
from mend_testkit.hub import Callers, onboard
from mend_testkit.matrix import MATRIX_AGENCY, MATRIX_HP, matrix_callers

A = MATRIX_AGENCY
STAFF = "prac-0007aa"  # enrolled in agency A, with an account
ROUTES = [
    # (path, body, action)
    ("/accounts", {"person_id": STAFF}, access.CREATE_ACCOUNT),
    (f"/accounts/{STAFF}/unlock", None, access.UNLOCK),
    ("/invitations", {"person_id": "hp-0007aa", "role": "harmed_person"}, access.INVITE),
    (f"/agencies/{A}/signing-keys", None, "signing-key"),
    (f"/accounts/{MATRIX_HP}/totp", {}, access.ENROL_FACTOR),
]
PRACTITIONERS = {"allocated practitioner", "unallocated practitioner"}
ALLOWED = {
    access.CREATE_ACCOUNT: {"coordinator"},
    access.UNLOCK: {"coordinator"},
    # into the practitioner's own agency, whichever it is
    access.INVITE: PRACTITIONERS | {f"{p} of agency-b" for p in PRACTITIONERS},
    "signing-key": {"coordinator", "deployment operator"},
    # the caller's own account (in agency B: their own account there, had they one)
    access.ENROL_FACTOR: {"harmed person", "harmed person of agency-b"},
}


# Agency A's staff among the matrix's callers: enrolled, so that what refuses them is the
# matrix, not an unknown person (the hub verifies its agencies' tokens by their keys alone).
A_STAFF = {
    "coord-0001aa": "coordinator",
    STAFF: "practitioner",
    "prac-0001aa": "practitioner",
    "prac-0009zz": "practitioner",
    "aud-0001aa": "auditor",
    "ops-0001aa": "operator",
    # community volunteers are enrolled like staff (issue 21)
    "vol-0001aa": "volunteer",
    "vol-0009zz": "volunteer",
}


@pytest.fixture
async def hub(platform, unique, topic_prefix, token, monkeypatch):
    monkeypatch.delenv("MEND_HUB_OPERATOR_AGENCY", raising=False)
    who = Callers(token)
    async with running_service(build, "hub", platform, unique, topic_prefix) as (client, app, rt):
        await onboard(client, who, A, keys=0)  # the hub makes A's signing key
        first = {"person_id": "coord-0001aa", "role": "coordinator"}
        r = await client.post(f"/agencies/{A}/staff", json=first, headers=who.operator())
        assert r.status_code == 201, r.text
        coordinator = await _minted(app, "coordinator", "coord-0001aa")
        for person, role in A_STAFF.items():
            if role != "coordinator":
                body = {"person_id": person, "role": role}
                r = await client.post(f"/agencies/{A}/staff", json=body, headers=coordinator)
                assert r.status_code == 201, r.text
        code = await app.state.signin.enrolment.invite_staff(_coordinator(), STAFF)
        await app.state.signin.enrolment.redeem(
            code["activation_code"], "staff-seven", "a passphrase long enough", "test"
        )
        yield client, app, rt


async def _minted(app, role: str, person: str) -> dict[str, str]:
    """A's tokens as the hub signs them (with A's own key)."""
    from mend_events.contracts.actors import Role

    parts = app.state.signin.parts
    async with parts.pool.acquire() as conn:
        raw, _ = await parts.keys.mint(conn, A, person, Role(role), datetime.now(UTC))
    return {"Authorization": f"Bearer {raw}"}


def _coordinator():
    from mend_events.contracts.actors import Role
    from mend_events.security.identity import Identity

    return Identity(A, Role.COORDINATOR, "coord-0001aa")


async def test_every_sign_in_route_refuses_whom_the_matrix_refuses_and_writes_nothing(hub, token):
    client, app, runtime = hub
    callers = {name: (i.role, i.person_id, i.agency) for name, i in matrix_callers().items()}
    operator = hub_access.DEFAULT_OPERATOR_AGENCY
    callers["deployment operator"] = ("operator", "ops-0002aa", operator)
    before = await runtime.store.head_position()
    leaks = []
    for name, (role, person, agency) in callers.items():
        if agency == A:
            headers = await _minted(app, role, person)
        else:  # agencies the hub keeps no keys for: development tokens
            headers = token(role, person, agency)
        for path, body, action in ROUTES:
            if name in ALLOWED[action]:
                continue
            r = await client.post(path, json=body, headers=headers)
            if r.status_code != 403:
                leaks.append(f"{name} POST {path}: {r.status_code}")
    assert leaks == []
    assert await runtime.store.head_position() == before
