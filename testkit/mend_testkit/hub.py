"""The hub's test world (services/hub/tests, and the sign-in and people parts' tests): its
callers' tokens, and the steps every test begins with (two agencies onboarded, each with a
coordinator and qualified practitioners), through the hub's own API."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pyotp
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mend_testkit.devkeys import DEV_KID
from mend_testkit.devkeys import public_pem as dev_public_pem

OPS = "mend-ops"  # the deployment's operating agency (access.DEFAULT_OPERATOR_AGENCY)
A, B = "agency-a", "agency-b"
COORD_A, COORD_B = "coord-aaaa01", "coord-bbbb01"
PRAC_1, PRAC_2, PRAC_B = "prac-aaaa01", "prac-aaaa02", "prac-bbbb01"
OPERATOR = "ops-0001aa"
CASE_A, CASE_B = "case-aaaa0001", "case-bbbb0001"


def public_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


class Callers:
    """Authorization headers by who is calling."""

    def __init__(self, token) -> None:
        self.token = token

    def operator(self, agency: str = OPS) -> dict:
        return self.token("operator", OPERATOR, agency)

    def coordinator(self, agency: str = A) -> dict:
        return self.token("coordinator", COORD_A if agency == A else COORD_B, agency)

    def practitioner(self, person: str = PRAC_1, agency: str = A) -> dict:
        return self.token("practitioner", person, agency)

    def auditor(self, agency: str = A) -> dict:
        return self.token("auditor", "aud-aaaa01", agency)


async def onboard(
    client, who: Callers, agency: str, *, keys: int = 1, staffed: bool = True
) -> None:
    """The agency onboarded by the operator with its keys and, unless `staffed` is False, the
    staff whose tokens `Callers` makes for it (its coordinator; agency A's auditor): the hub
    admits staff of an onboarded agency only as enrolled."""
    body = {
        "agency_id": agency,
        "name": f"Agency {agency[-1].upper()}",
        "sign_in": "local",
        # The first key is the agency's development key, under the key id the `token` fixture
        # signs with: services that learn the agency's keys from the hub's events then verify
        # the tests' tokens as they would the hub's. Any more are fresh keys.
        "keys": [{"kid": DEV_KID, "public_key_pem": dev_public_pem(agency)}][:keys]
        + [{"kid": f"k{i}", "public_key_pem": public_pem()} for i in range(1, keys)],
    }
    r = await client.post("/agencies", json=body, headers=who.operator())
    assert r.status_code == 201, r.text
    if staffed:
        await enrol(client, who, agency, COORD_A if agency == A else COORD_B, "coordinator")
        if agency == A:
            await enrol(client, who, agency, "aud-aaaa01", "auditor")


async def enrol(client, who: Callers, agency: str, person: str, role: str) -> None:
    r = await client.post(
        f"/agencies/{agency}/staff",
        json={"person_id": person, "role": role},
        headers=who.coordinator(agency) if role != "coordinator" else who.operator(),
    )
    assert r.status_code == 201, r.text


async def qualify(client, who: Callers, agency: str, person: str) -> None:
    body = {"rj_trained": True, "sexual_harm_trained": True, "level": 2,
            "specialisms": ["survivor_specialist"]}  # fmt: skip
    r = await client.post(
        f"/agencies/{agency}/staff/{person}/qualifications",
        json=body,
        headers=who.coordinator(agency),
    )
    assert r.status_code == 201, r.text


async def two_agencies(client, who: Callers) -> None:
    """Agencies A and B onboarded, each with a coordinator and practitioners."""
    for agency, pracs in ((A, (PRAC_1, PRAC_2)), (B, (PRAC_B,))):
        await onboard(client, who, agency)  # with its coordinator
        for prac in pracs:
            await enrol(client, who, agency, prac, "practitioner")
            await qualify(client, who, agency, prac)


async def open_account(
    client, agency: str, person: str, code: str, login: tuple[str, str], at: datetime | None = None
) -> tuple[str, dict]:
    """A staff member's first sign-in through the hub's API: redeem the activation `code`, sign
    in with the password (which asks to enrol a second factor), enrol TOTP and confirm it with
    the authenticator's code at `at` (now when None). `login`: (username, password).
    Answers (the TOTP secret, the hub's tokens)."""
    username, password = login
    body = {"activation_code": code, "username": username, "password": password}
    assert (await client.post("/invitations/redeem", json=body)).status_code == 201
    body = {"agency": agency, "username": username, "password": password}
    first = await client.post("/signin", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "enrol_second_factor"
    challenge = first.json()["challenge"]
    r = await client.post(f"/accounts/{person}/totp", json={"challenge": challenge})
    assert r.status_code == 201, r.text
    secret = parse_qs(urlparse(r.json()["provisioning_uri"]).query)["secret"][0]
    totp = pyotp.TOTP(secret)
    body = {"challenge": challenge, "code": totp.now() if at is None else totp.at(at)}
    done = await client.post("/signin/second-factor", json=body)
    assert done.status_code == 200, done.text
    return secret, done.json()
