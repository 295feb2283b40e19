"""Sign-in end to end, as the people of an agency meet it: the hub and the sessions service in
process on the real database and broker. The deployment's operator onboards a local-sign-in
agency; the hub makes its signing key and publishes it (`AgencyKeyAdded` on `hub.events.v1`),
and the sessions service learns it through its `hub` subscription (no key handed over here).
A coordinator and practitioners open their accounts with activation codes, sign in with
password and TOTP, and reach the sessions service's routes with the tokens the hub signed.

Every wait is on a condition with a deadline (`wait_until`): what the hub decides reaches the
service over Kafka, so the test waits for the service to have heard, never for a fixed time."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pyotp
import pytest
from bus_helpers import wait_until
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from mend_events.messaging.topics import ensure_topics
from mend_hub.app import build as build_hub
from mend_sessions.app import build as build_sessions
from mend_testkit.fixtures import running_service
from mend_testkit.hub import open_account

OPERATOR = ("operator", "ops-0001aa", "mend-ops")
COORD, PRAC_1, PRAC_2, PRAC_3 = "coord-sign01", "prac-sign01", "prac-sign02", "prac-sign03"
HP = "hp-sign0001"
CASE = "case-sign0001"
PASSWORD = "a long passphrase only she knows"
WAIT = 60  # seconds: an upper bound for what crosses the broker, never a pause


@dataclass
class World:
    hub: httpx.AsyncClient
    sessions: httpx.AsyncClient
    agency: str
    operator: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)  # person: TOTP secret

    async def code_for(self, person: str, headers: dict[str, str]) -> str:
        r = await self.hub.post("/accounts", json={"person_id": person}, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()["activation_code"]

    async def open_account(self, person: str, code: str) -> tuple[str, dict[str, str]]:
        """The person redeems their code, signs in for the first time (which enrols their
        TOTP) and confirms it with a code from their authenticator: (secret, bearer header)."""
        login = f"{person}.login"
        secret, tokens = await open_account(self.hub, self.agency, person, code, (login, PASSWORD))
        access = tokens["access_token"]
        assert jwt.get_unverified_header(access)["kid"]  # signed with the agency's hub key
        return secret, {"Authorization": f"Bearer {access}"}

    async def sign_in(self, person: str, password: str = PASSWORD) -> httpx.Response:
        body = {"agency": self.agency, "username": f"{person}.login", "password": password}
        return await self.hub.post("/signin", json=body)

    async def until_status(self, client, path: str, headers, status: int) -> httpx.Response:
        """Read `path` until it answers `status` (what the hub decided has reached it)."""

        async def answered() -> httpx.Response | None:
            r = await client.get(path, headers=headers)
            return r if r.status_code == status else None

        return await wait_until(answered, timeout=WAIT)


@pytest.fixture
async def world(platform, unique, topic_prefix, token) -> AsyncIterator[World]:
    # Both topics exist before either service subscribes to the other's.
    await ensure_topics(platform.kafka_bootstrap, ["hub", "sessions"], prefix=topic_prefix)
    async with contextlib.AsyncExitStack() as stack:
        hub, _, _ = await stack.enter_async_context(
            running_service(build_hub, "hub", platform, unique, topic_prefix)
        )
        sessions, _, _ = await stack.enter_async_context(
            running_service(build_sessions, "sessions", platform, unique, topic_prefix)
        )
        yield World(hub, sessions, f"agency-{unique}", token(*OPERATOR))


async def onboard(world: World) -> None:
    """The operator onboards the agency with local sign-in and enrols its coordinator."""
    body = {"agency_id": world.agency, "name": "Northside RJ", "sign_in": "local"}
    r = await world.hub.post("/agencies", json=body, headers=world.operator)
    assert r.status_code == 201, r.text
    assert r.json()["signing_key"]["kid"]  # made by the hub in the same request
    r = await world.hub.post(
        f"/agencies/{world.agency}/staff",
        json={"person_id": COORD, "role": "coordinator"},
        headers=world.operator,
    )
    assert r.status_code == 201, r.text


async def staffed(world: World) -> dict[str, dict[str, str]]:
    """The coordinator signed in; with their own token, practitioners enrolled and their codes
    asked for; each practitioner's account opened and signed in. -> person: bearer header."""
    await onboard(world)
    _, coord = await world.open_account(COORD, await world.code_for(COORD, world.operator))
    # The coordinator's hub-signed token at the hub's core routes: admitted once the hub's own
    # trust model has heard of the agency's key (its `hub` subscription, over the broker).
    await world.until_status(world.hub, f"/agencies/{world.agency}/staff", coord, 200)
    out = {COORD: coord}
    for person in (PRAC_1, PRAC_2, PRAC_3):
        r = await world.hub.post(
            f"/agencies/{world.agency}/staff",
            json={"person_id": person, "role": "practitioner"},
            headers=coord,
        )
        assert r.status_code == 201, r.text
        world.secrets[person], out[person] = await world.open_account(
            person, await world.code_for(person, coord)
        )
    return out


async def test_signed_in_staff_reach_a_service_and_the_hubs_changes_act_at_once(world):
    """Reallocation, deactivation and suspension act on the next request at the service."""
    tokens = await staffed(world)
    coord, p1, p2 = tokens[COORD], tokens[PRAC_1], tokens[PRAC_2]
    s = world.sessions
    # The sessions service admits the coordinator once it has the key and the enrolment.
    await world.until_status(s, "/practitioners", coord, 200)
    opening = {"harm_category": "sexual_assault", "justice_stage": "none",
               "route": "agency_on_request", "harmed_person_id": HP}  # fmt: skip
    r = await s.post(f"/cases/{CASE}/open", json=opening, headers=coord)
    assert r.status_code == 201, r.text

    # The coordinator allocates the first practitioner through the hub, once the hub knows the
    # case from the sessions service's events.
    allocations = f"/cases/{CASE}/allocations"

    async def allocated() -> bool:
        body = {"practitioner_id": PRAC_1, "reason": "new_case"}
        r = await world.hub.post(allocations, json=body, headers=coord)
        assert r.status_code in (201, 404), r.text  # 404: the case not heard of yet
        return r.status_code == 201

    await wait_until(allocated, timeout=WAIT)
    read = f"/cases/{CASE}"
    await world.until_status(s, read, p1, 200)
    assert (await s.get(read, headers=p2)).status_code == 403

    # Reallocation through the hub's API: the new practitioner is admitted as soon as the
    # service has heard, and by then the old one is refused (the deallocation comes first on
    # the case's partition).
    body = {"from_practitioner_id": PRAC_1, "to_practitioner_id": PRAC_2,
            "reason": "participant_request"}  # fmt: skip
    r = await world.hub.post(f"{allocations}/reallocation", json=body, headers=coord)
    assert r.status_code == 201, r.text
    await world.until_status(s, read, p2, 200)
    r = await s.get(read, headers=p1)
    assert r.status_code == 403 and "allocated" in r.json()["reason"], r.text
    history = (await world.hub.get(allocations, headers=coord)).json()
    assert [(h["type"], h["practitioner_id"]) for h in history["history"]] == [
        ("CaseAllocated", PRAC_1),
        ("CaseDeallocated", PRAC_1),
        ("CaseAllocated", PRAC_2),
    ]
    assert [a["practitioner_id"] for a in history["allocated"]] == [PRAC_2]

    # Deactivation: the second practitioner's token, verified and cached by the service, is
    # refused on the first request after the service hears of it, long before it expires.
    r = await world.hub.post(
        f"/agencies/{world.agency}/staff/{PRAC_2}/deactivation",
        json={"reason": "left_agency"},
        headers=coord,
    )
    assert r.status_code == 201, r.text
    refused = await world.until_status(s, read, p2, 403)
    assert "deactivated" in refused.json()["reason"], refused.text
    assert _seconds_left(p2) > 60  # the token itself was still good

    # Suspension of the agency by the deployment's operator: every token of it refused.
    body = {"reason": "security_incident"}
    path = f"/agencies/{world.agency}/suspension"
    assert (await world.hub.post(path, json=body, headers=world.operator)).status_code == 201
    refused = await world.until_status(s, "/practitioners", coord, 403)
    assert "suspended" in refused.json()["reason"], refused.text
    # Nor does anyone of it sign in: the password step may pass, the second factor (a code
    # of the next step, as her authenticator would show it) gives no token.
    first = await world.sign_in(PRAC_3)
    if first.status_code == 200:
        code = pyotp.TOTP(world.secrets[PRAC_3]).at(time.time() + 30)
        body = {"challenge": first.json()["challenge"], "code": code}
        first = await world.hub.post("/signin/second-factor", json=body)
    assert first.status_code in (401, 403) and "access_token" not in first.json(), first.text


async def test_five_wrong_passwords_lock_the_account_and_an_unknown_issuer_is_refused(world):
    tokens = await staffed(world)
    p3 = tokens[PRAC_3]
    await world.until_status(world.sessions, "/practitioners", p3, 200)
    statuses = [(await world.sign_in(PRAC_3, "not her passphrase")).status_code for _ in range(5)]
    assert statuses[:4] == [401] * 4 and statuses[4] in (401, 423), statuses
    locked = await world.sign_in(PRAC_3)  # the right password, now refused
    assert locked.status_code == 423, locked.text

    # Tokens no agency of this deployment issued: an OIDC-style issuer nobody registered, and
    # an agency id signed with a key the hub never published.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = _claims("https://idp.unknown.example")
    raw = jwt.encode(foreign, rsa_key, algorithm="RS256", headers={"kid": "x1"})
    r = await world.sessions.get("/practitioners", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 401 and "unknown issuer" in r.json()["reason"], r.text
    forged = jwt.encode(_claims(world.agency), ed25519.Ed25519PrivateKey.generate(),
                        algorithm="EdDSA", headers={"kid": "k-forged"})  # fmt: skip
    r = await world.sessions.get("/practitioners", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401, r.text


def _claims(issuer: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "sub": PRAC_3, "role": "practitioner", "aud": "mend", "iat": now,
            "exp": now + 300, "mend_role": "practitioner", "mend_pid": PRAC_3}  # fmt: skip


def _seconds_left(headers: dict[str, str]) -> float:
    raw = headers["Authorization"].split(" ", 1)[1]
    return jwt.decode(raw, options={"verify_signature": False})["exp"] - time.time()
