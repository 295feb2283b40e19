"""A hub-signed token reaches a real service route; nothing secret shows in logs, events, error
bodies or tables.

The sessions service verifies with a `TokenVerifier` given the hub's published key (the PEM of
the `AgencyKeyAdded` event the hub recorded) directly: teaching the services to learn keys from
those events is another change; this test stands in for it and says so."""

from __future__ import annotations

import json
import logging

import jwt
import pyotp
import structlog
from mend_events.security.identity import TokenVerifier, reset_default_verifier
from mend_events.security.public_keys import DirectoryKeys, StaticKeys
from mend_sessions.app import build as build_sessions
from mend_testkit.fixtures import running_service


class _HubThenDevKeys:
    """The hub's published key for its agency; the development keys for everyone else."""

    def __init__(self, hub: StaticKeys, dev: DirectoryKeys) -> None:
        self._hub, self._dev = hub, dev

    def public_key(self, agency: str):
        return self._hub.public_key(agency) or self._dev.public_key(agency)


async def _published_key(hub, agency: str) -> tuple[str, str]:
    events = await hub.runtime.store.read_stream(f"agency:{agency}")
    added = [e.decode() for e in events if e.event_type == "AgencyKeyAdded"]
    return added[-1].kid, added[-1].public_key_pem


async def test_a_signed_in_practitioner_reaches_a_sessions_route(
    hub, agency, platform, unique, topic_prefix, keys_dir
):
    await hub.ready(agency)
    assert await hub.signin.enrolment.add_signing_key(agency, only_if_none=True) is None
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    kid, pem = await _published_key(hub, agency)
    access = tokens["access_token"]
    assert jwt.get_unverified_header(access)["kid"] == kid

    verifier = TokenVerifier(_HubThenDevKeys(StaticKeys({agency: pem}), DirectoryKeys(keys_dir)))
    reset_default_verifier(verifier)
    try:
        async with running_service(build_sessions, "sessions", platform, unique, topic_prefix) as (
            client,
            _,
            _,
        ):
            headers = {"Authorization": f"Bearer {access}"}
            r = await client.get("/practitioners", headers=headers)
            assert r.status_code == 200, r.text
            forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
            r = await client.get("/practitioners", headers={"Authorization": f"Bearer {forged}"})
            assert r.status_code == 401
    finally:
        reset_default_verifier(None)


async def test_rotation_signs_with_the_newest_key_not_retired_by_the_hubs_events(hub, agency):
    first = (await hub.ready(agency))["kid"]
    path = f"/agencies/{agency}/signing-keys"
    coordinator = await hub.coordinator(agency)
    r = await hub.client.post(path, headers=coordinator)
    assert r.status_code == 201, r.text
    second = r.json()["kid"]
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == second
    practitioner = await hub.caller("practitioner", "prac-0009zz", agency)  # enrolled now

    # The newest key retired through the hub's own key route (say it leaked): the next token
    # is signed with the previous key, which the services still accept during the overlap.
    retire = f"/agencies/{agency}/keys/{second}/retirement"
    assert (await hub.client.post(retire, headers=coordinator)).status_code == 201
    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert jwt.get_unverified_header(r.json()["access_token"])["kid"] == first
    types = [e.event_type for e in await hub.runtime.store.read_stream(f"agency:{agency}")]
    assert types == ["AgencyOnboarded", "AgencyKeyAdded", "AgencyKeyAdded", "AgencyKeyRetired"]

    for who in (practitioner, hub.who.coordinator("agency-b")):
        assert (await hub.client.post(path, headers=who)).status_code == 403


async def test_no_login_name_password_secret_or_code_in_logs_events_errors_or_tables(
    hub, agency, caplog
):
    caplog.set_level(logging.DEBUG)
    username, wrong = "Canary.Quokka", "canary-wrong-passphrase"
    await hub.ready(agency)
    await hub.enrol(agency, "prac-a1b2c3")
    code = await hub.staff_code(agency, "prac-a1b2c3")
    bodies: list[str] = []
    with structlog.testing.capture_logs() as logs:
        assert (await hub.redeem(code, username)).status_code == 201
        bodies.append((await hub.redeem(code, username)).text)  # spent code
        first = await hub.sign_in(agency, username)
        challenge = first.json()["challenge"]
        r = await hub.client.post("/accounts/prac-a1b2c3/totp", json={"challenge": challenge})
        secret = pyotp.parse_uri(r.json()["provisioning_uri"]).secret
        bodies.append((await hub.code(challenge, "123456")).text)
        tokens = (await hub.code(challenge, pyotp.TOTP(secret).at(hub.clock()))).json()
        for _ in range(5):
            bodies.append((await hub.sign_in(agency, username, wrong)).text)
        bodies.append((await hub.sign_in(agency, username)).text)  # locked
        bodies.append((await hub.sign_in(agency, username + "x", wrong)).text)
        bad = {"agency": agency, "username": "\x01" + username, "password": wrong}
        bodies.append((await hub.client.post("/signin", json=bad)).text)
    secrets = [username, username.lower(), hub.password, wrong, secret, code]
    secrets += [tokens["refresh_token"], challenge]

    events = await hub.runtime.store.read_all(0, 10_000)
    assert {"AccountLocked", "AccountOpened", "CredentialsChanged"} <= {
        e.event_type for e in events
    }
    event_text = json.dumps([e.data for e in events], default=str)
    log_text = json.dumps(logs, default=str) + caplog.text
    parts = hub.signin.parts
    async with parts.pool.acquire() as conn:
        tables = []
        for table in ("accounts", "challenges", "refresh_tokens", "keys", "invitations"):
            rows = await conn.fetch(f"SELECT * FROM {parts.schema}.signin_{table}")
            tables.append(repr([dict(r) for r in rows]))
    table_text = "\n".join(tables)
    for where, text in [
        ("events", event_text),
        ("logs", log_text),
        ("errors", "\n".join(bodies)),
        ("tables", table_text),
    ]:
        for value in secrets:
            assert value not in text, f"a credential appears in the {where}"
    assert "$argon2id$v=19$m=65536,t=3,p=4$" in table_text  # the password, hashed only
    assert all('"invalid credentials' in b or '"locked"' in b or "invalid" in b for b in bodies)


async def test_a_hub_signed_token_reaches_the_hubs_own_routes_until_its_holder_is_deactivated(
    hub, agency
):
    """Every route of the hub admits the tokens it signed (not only the sign-in's): a
    practitioner signed in at the hub reads their own caseload; deactivated, they are refused on
    the very next request, their token still unexpired (failed before: the core routes verified
    only the process's keys, so a hub-signed token got 401 there)."""
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await hub.client.get("/practitioners/prac-a1b2c3/caseload", headers=headers)
    assert r.status_code == 200, r.text
    await hub.deactivate(agency, "prac-a1b2c3")
    r = await hub.client.get("/practitioners/prac-a1b2c3/caseload", headers=headers)
    assert r.status_code == 401, r.text


async def test_onboarding_a_local_agency_makes_its_first_signing_key_in_the_same_request(hub):
    """One request: the agency and its first key (published as AgencyKeyAdded); a retried
    onboarding makes no second key; an agency onboarded with keys of its own, or signing in
    through its own provider, gets none from the hub."""
    operator = hub.who.operator()
    body = {"agency_id": "agency-local1", "name": "Local", "sign_in": "local"}
    r = await hub.client.post("/agencies", json=body, headers=operator)
    assert r.status_code == 201, r.text
    kid = r.json()["signing_key"]["kid"]
    again = await hub.client.post(
        "/agencies", json=body, headers={**operator, "Idempotency-Key": "onboard-local1"}
    )
    assert again.status_code in (200, 201, 409), again.text
    events = await hub.runtime.store.read_stream("agency:agency-local1")
    added = [e.decode() for e in events if e.event_type == "AgencyKeyAdded"]
    assert [a.kid for a in added] == [kid]
    assert await hub.signin.enrolment.current_key("agency-local1") == kid

    oidc = {"agency_id": "agency-oidc1", "name": "Own IdP", "sign_in": "oidc",
            "identity_provider": {"issuer": "https://idp.example", "jwks_url":
                                  "https://idp.example/jwks"}}  # fmt: skip
    r = await hub.client.post("/agencies", json=oidc, headers=operator)
    assert r.status_code == 201, r.text
    assert "signing_key" not in r.json()
    assert await hub.signin.enrolment.current_key("agency-oidc1") is None
