"""The sign-in's access matrix: every role, two agencies, strangers of the same agency."""

from __future__ import annotations

from mend_hub.signin import access
from mend_testkit.matrix import (
    MATRIX_AGENCY,
    MATRIX_HP,
    granted,
    leaks,
    matrix_callers,
    matrix_leaks,
)

# action -> the callers (of agency A, on agency A's accounts) allowed
EXPECTED = {
    access.CREATE_ACCOUNT: {"coordinator"},
    access.UNLOCK: {"coordinator"},
    access.INVITE: {"allocated practitioner", "unallocated practitioner"},
}


def _authorize(identity, action, agency):
    access.authorize(identity, action, agency)


def test_the_matrix():
    on_a = lambda who, action: granted(_authorize, who, action, MATRIX_AGENCY)  # noqa: E731
    assert matrix_leaks(on_a, EXPECTED, EXPECTED) == []


def test_no_one_acts_on_an_unknown_agency():
    for identity in matrix_callers().values():
        for action in EXPECTED:
            assert not granted(_authorize, identity, action, None)


def test_only_the_accounts_own_subject_enrols_its_second_factor_with_a_token():
    def own(identity, action, agency):
        access.authorize_own(identity, agency, MATRIX_HP)

    allowed = {
        (name, access.ENROL_FACTOR): granted(own, identity, access.ENROL_FACTOR, MATRIX_AGENCY)
        for name, identity in matrix_callers().items()
    }
    assert leaks(allowed, {access.ENROL_FACTOR: {"harmed person"}}) == []


async def test_the_openapi_document_names_the_sign_in_routes_and_their_limits(hub):
    paths = (await hub.client.get("/openapi.json")).json()["paths"]
    assert {
        "/signin",
        "/signin/second-factor",
        "/token/refresh",
        "/signout",
        "/accounts",
        "/accounts/{person}/totp",
        "/accounts/{person}/unlock",
        "/invitations",
        "/invitations/redeem",
        "/agencies/{agency_id}/signing-keys",
    } <= set(paths)
    assert {"401", "423", "429"} <= set(paths["/signin"]["post"]["responses"])
