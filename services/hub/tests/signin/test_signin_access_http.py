"""The sign-in's access matrix through its HTTP routes: every caller of the matrix (each role,
two agencies, strangers of the same agency) and the deployment's operators, over the real
database. Whoever the matrix does not allow an action is refused (403) on the route that takes
it, and nothing is written."""

from __future__ import annotations

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


@pytest.fixture
async def hub(platform, unique, topic_prefix, token, monkeypatch):
    monkeypatch.delenv("MEND_HUB_OPERATOR_AGENCY", raising=False)
    who = Callers(token)
    async with running_service(build, "hub", platform, unique, topic_prefix) as (client, app, rt):
        await onboard(client, who, A, keys=0)
        r = await client.post(
            f"/agencies/{A}/staff",
            json={"person_id": STAFF, "role": "practitioner"},
            headers=who.coordinator(A),
        )
        assert r.status_code == 201, r.text
        code = await app.state.signin.enrolment.invite_staff(_coordinator(), STAFF)
        await app.state.signin.enrolment.redeem(
            code["activation_code"], "staff-seven", "a passphrase long enough", "test"
        )
        yield client, rt


def _coordinator():
    from mend_events.contracts.actors import Role
    from mend_events.security.identity import Identity

    return Identity(A, Role.COORDINATOR, "coord-0001aa")


async def test_every_sign_in_route_refuses_whom_the_matrix_refuses_and_writes_nothing(hub, token):
    client, runtime = hub
    # No sign-in route is about a case: who is allocated to what does not enter these rules.
    callers = {name: (i.role, i.person_id, i.agency) for name, i in matrix_callers().items()}
    operator = hub_access.DEFAULT_OPERATOR_AGENCY
    callers["deployment operator"] = ("operator", "ops-0002aa", operator)
    before = await runtime.store.head_position()
    leaks = []
    for name, (role, person, agency) in callers.items():
        headers = token(role, person, agency)
        for path, body, action in ROUTES:
            if name in ALLOWED[action]:
                continue
            r = await client.post(path, json=body, headers=headers)
            if r.status_code != 403:
                leaks.append(f"{name} POST {path}: {r.status_code}")
    assert leaks == []
    assert await runtime.store.head_position() == before
