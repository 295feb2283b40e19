"""Tokens from an agency's own OpenID Connect provider, against a real, standards-compliant
provider run locally (panva's certified `oidc-provider` under Node, deploy/local/oidc): the
agency's registration (`AgencyIdentityProviderSet`) is applied to the consent service's trust
model through the hub subscription's own code; a token fetched from the provider's token
endpoint (client credentials, JWT access token for the audience `mend`) reaches a real route,
mapped to the agency, role and pseudonymous id by the registered claims; a token from an
unregistered issuer is refused (401), as are a subject that is not a pseudonymous id, a role the
person is not enrolled in, and any token of the agency once it is suspended.

Needs `npm ci` in deploy/local/oidc (Node 20 or later)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from mend_consent.app import build
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub
from mend_testkit.directory import apply_hub_events, hub_event, open_case
from mend_testkit.fixtures import ROOT, running_service

OIDC_DIR = ROOT / "deploy" / "local" / "oidc"
AGENCY, HP, PRAC, CASE = "agency-oidc", "hp-alice01", "prac-oidc001", "case-0001aa"
SECRET = "a-client-secret-for-tests-only-0123456789"
CLIENTS = [
    {"client_id": "prac", "mend_role": "practitioner", "mend_pid": PRAC},
    {"client_id": "email", "mend_role": "practitioner", "mend_pid": "carol@example.org"},
    {"client_id": "coord", "mend_role": "coordinator", "mend_pid": PRAC},
]


class LocalProvider:
    def __init__(self, process: asyncio.subprocess.Process, issuer: str, config: dict) -> None:
        self.process, self.issuer, self.config = process, issuer, config

    async def token(self, client_id: str) -> str:
        async with httpx.AsyncClient() as http:
            r = await http.post(
                self.config["token_endpoint"],
                data={"grant_type": "client_credentials", "resource": "urn:mend:api"},
                auth=(client_id, SECRET),
            )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


async def _start_provider(log: BinaryIO) -> LocalProvider:
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the local OpenID provider needs Node and `npm ci` in deploy/local/oidc")
    env = {
        **os.environ,
        # Port 0: the provider binds one the system picks and names its issuer, so no port
        # guessed free is taken first by another process (a parallel worker's provider).
        "MEND_OIDC_PORT": "0",
        "MEND_OIDC_CLIENTS": json.dumps([{**c, "client_secret": SECRET} for c in CLIENTS]),
    }
    process = await asyncio.create_subprocess_exec(
        node, "provider.mjs", cwd=OIDC_DIR, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    output = Path(log.name)
    for _ in range(200):  # until it listens (a few hundred ms), at most 10 s
        said = await asyncio.to_thread(output.read_text, errors="replace")
        listening = re.search(r"oidc-provider listening on (http://127\.0\.0\.1:\d+)\n", said)
        if listening:
            issuer = listening.group(1)
            async with httpx.AsyncClient() as http:
                r = await http.get(f"{issuer}/.well-known/openid-configuration")
            return LocalProvider(process, issuer, r.json())
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    process.kill()
    await process.wait()
    pytest.fail("the local OpenID provider did not start (its output is in the test's tmp dir)")


@pytest.fixture
async def providers(tmp_path) -> AsyncIterator[list[LocalProvider]]:
    """Two providers: the agency's, and one nobody registered."""
    logs = [(tmp_path / f"oidc{n}.log").open("wb") for n in range(2)]
    started = [await _start_provider(log) for log in logs]
    yield started
    for p in started:
        p.process.terminate()
        await p.process.wait()
    for log in logs:
        log.close()


@pytest.fixture
async def consent(platform, unique, topic_prefix, keys_dir, providers):
    registered = providers[0]
    agency = hub.agency_stream(AGENCY)
    events = [
        hub_event(hub.AgencyOnboarded(agency_id=AGENCY, name="OIDC", sign_in=hub.SignIn.OIDC),
                  agency, agency=AGENCY),
        hub_event(hub.AgencyIdentityProviderSet(
            agency_id=AGENCY, issuer=registered.issuer, jwks_url=registered.config["jwks_uri"],
            audience="mend", role_claim="mend_role", subject_claim="mend_pid"),
            agency, agency=AGENCY),
        hub_event(hub.StaffEnrolled(agency_id=AGENCY, person_id=PRAC, role=Role.PRACTITIONER),
                  hub.staff_stream(PRAC), agency=AGENCY),
        hub_event(hub.CaseAllocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                                    reason=hub.AllocationReason.NEW_CASE), CASE, agency=AGENCY),
    ]  # fmt: skip
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as running:
        await open_case(running[2], CASE, HP, agency=AGENCY)
        await apply_hub_events(running[2], events)
        yield running


async def test_a_token_of_the_agencys_own_provider_reaches_a_route(consent, providers):
    client, _, runtime = consent
    registered, stranger = providers
    read = f"/cases/{CASE}/consents"

    token = await registered.token("prac")
    r = await client.get(read, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    # Mapped by the registration: the provider's own subject (the client id) is not the person.
    r = await client.get(
        f"/cases/{CASE}/consent-history", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text

    unknown = await stranger.token("prac")
    r = await client.get(read, headers={"Authorization": f"Bearer {unknown}"})
    assert r.status_code == 401 and "unknown issuer" in r.json()["reason"], r.text

    email = await registered.token("email")
    r = await client.get(read, headers={"Authorization": f"Bearer {email}"})
    assert r.status_code == 401 and "pseudonymous" in r.json()["reason"], r.text
    assert "example.org" not in r.text

    coord = await registered.token("coord")  # the same person, claiming another role
    r = await client.get(read, headers={"Authorization": f"Bearer {coord}"})
    assert r.status_code == 403 and "enrolled as practitioner" in r.json()["reason"], r.text

    reason = hub.SuspensionReason.UNDER_REVIEW
    suspended = hub.AgencySuspended(agency_id=AGENCY, reason=reason)
    await apply_hub_events(
        runtime, [hub_event(suspended, hub.agency_stream(AGENCY), agency=AGENCY)]
    )
    r = await client.get(read, headers={"Authorization": f"Bearer {token}"})  # cached, refused
    assert r.status_code == 403 and "suspended" in r.json()["reason"], r.text
