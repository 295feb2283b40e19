"""The demo agency `make up` creates on a developer's machine: one local-sign-in agency with a
coordinator and two practitioners whose accounts are opened, through the hub's own HTTP API
(the same routes and rules as for anyone), as the deployment's operator.

Passwords and TOTP secrets are generated here, for this machine, and written only to the
accounts file (mode 600), never printed or logged. Run again, it leaves a working demo as it is
(the agency onboarded and the file there); with the file gone, it resets the accounts (new
activation codes, new passwords and secrets). `MEND_ENV=production` refuses it, and the hub
refuses to onboard the demo agency's id there (api.py)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from mend_events.app.settings import is_production

DEMO_AGENCY = "agency-demo"
DEMO_NAME = "Demo restorative justice hub"
# (person, role, login name)
DEMO_STAFF = (
    ("coord-demo01", "coordinator", "demo.coordinator"),
    ("prac-demo01", "practitioner", "demo.practitioner1"),
    ("prac-demo02", "practitioner", "demo.practitioner2"),
)


class DemoRefused(RuntimeError):
    """The demo agency is never made in production."""


class DemoFailed(RuntimeError):
    """A step of the set-up was refused by the hub (its status and reason, never a secret)."""


@dataclass(frozen=True)
class DemoAccount:
    person_id: str
    role: str
    login: str
    password: str
    totp_secret: str


@dataclass(frozen=True)
class Demo:
    agency: str
    accounts_file: Path
    logins: tuple[tuple[str, str], ...]  # (role, login name)
    created: bool  # False: the existing demo was left as it was


async def set_up_demo(
    client: httpx.AsyncClient,
    operator: Mapping[str, str],
    accounts_file: Path,
    *,
    hub_url: str,
    environ: Mapping[str, str] | None = None,
) -> Demo:
    """The demo agency and its three opened accounts on the hub `client` talks to; `operator`:
    the Authorization header of the deployment's operator."""
    if is_production(environ if environ is not None else os.environ):
        raise DemoRefused("MEND_ENV=production: the demo agency and its accounts are refused")
    logins = tuple((role, login) for _, role, login in DEMO_STAFF)
    existing = await client.get(f"/agencies/{DEMO_AGENCY}", headers=dict(operator))
    # One stat of a local file, once per `make up`: not worth a thread.
    if existing.status_code == 200 and accounts_file.exists():  # noqa: ASYNC240
        return Demo(DEMO_AGENCY, accounts_file, logins, created=False)
    if existing.status_code == 404:
        body = {"agency_id": DEMO_AGENCY, "name": DEMO_NAME, "sign_in": "local"}
        _ok(await client.post("/agencies", json=body, headers=dict(operator)), "onboard")
    elif existing.status_code != 200:
        _ok(existing, "read the demo agency")

    accounts: list[DemoAccount] = []
    coordinator: dict[str, str] | None = None
    for person, role, login in DEMO_STAFF:
        # The coordinator is enrolled and let in by the operator, the practitioners by the
        # coordinator, signed in with their own new account.
        asker = dict(operator) if coordinator is None else coordinator
        body = {"person_id": person, "role": role}
        enrolled = await client.post(f"/agencies/{DEMO_AGENCY}/staff", json=body, headers=asker)
        if enrolled.status_code != 409:  # 409: enrolled by an earlier run
            _ok(enrolled, f"enrol the demo {role}")
        account, token = await _open(client, asker, person, role, login)
        accounts.append(account)
        if coordinator is None:
            coordinator = {"Authorization": f"Bearer {token}"}
            await _until_admitted(client, coordinator)
    _write(accounts_file, hub_url, accounts)
    return Demo(DEMO_AGENCY, accounts_file, logins, created=True)


async def _open(
    client: httpx.AsyncClient, asker: dict[str, str], person: str, role: str, login: str
) -> tuple[DemoAccount, str]:
    """An activation code (a reset if the account exists), redeemed with a new password; the
    first sign-in enrols TOTP and is confirmed with a code: (the account, its access token)."""
    r = _ok(await client.post("/accounts", json={"person_id": person}, headers=asker), "code")
    password = secrets.token_urlsafe(18)
    body = {"activation_code": r.json()["activation_code"], "username": login, "password": password}
    _ok(await client.post("/invitations/redeem", json=body), "redeem the code")
    signin = {"agency": DEMO_AGENCY, "username": login, "password": password}
    first = _ok(await client.post("/signin", json=signin), "sign in").json()
    challenge = first["challenge"]
    enrolled = await client.post(f"/accounts/{person}/totp", json={"challenge": challenge})
    uri = _ok(enrolled, "enrol TOTP").json()["provisioning_uri"]
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    body = {"challenge": challenge, "code": pyotp.TOTP(secret).now()}
    tokens = _ok(await client.post("/signin/second-factor", json=body), "second factor").json()
    return DemoAccount(person, role, login, password, secret), tokens["access_token"]


async def _until_admitted(client: httpx.AsyncClient, coordinator: dict[str, str]) -> None:
    """The hub's core routes admit the coordinator's hub-signed token once its trust model has
    heard of the agency's key and their enrolment over the broker: wait for that, bounded."""
    deadline = time.monotonic() + 60
    while True:
        r = await client.get(f"/agencies/{DEMO_AGENCY}/staff", headers=coordinator)
        if r.status_code == 200:
            return
        if time.monotonic() > deadline:
            _ok(r, "reach the hub as the demo coordinator")
        await asyncio.sleep(0.1)


def _ok(response: httpx.Response, step: str) -> httpx.Response:
    if response.is_success:
        return response
    try:
        reason = response.json().get("reason", "")
    except ValueError:
        reason = ""
    raise DemoFailed(f"demo set-up: {step}: HTTP {response.status_code} {reason}".strip())


def _write(path: Path, hub_url: str, accounts: list[DemoAccount]) -> None:
    """The file, created afresh with mode 600 (never readable by others, even for a moment)."""
    lines = [
        "# Mend demo accounts for THIS MACHINE ONLY (generated by `make up`; never in production)",
        f"# hub: {hub_url}   agency: {DEMO_AGENCY}",
        '# Add a TOTP secret to an authenticator app, or: python -c "import pyotp; '
        "print(pyotp.TOTP('SECRET').now())\"",
        "role\tlogin\tpassword\ttotp_secret\tperson_id",
        *(f"{a.role}\t{a.login}\t{a.password}\t{a.totp_secret}\t{a.person_id}" for a in accounts),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")


def how_to_sign_in(demo: Demo, hub_url: str, web_url: str | None = None) -> str:
    """What `make up` prints: where and as whom to sign in (the web app's pages, when there is
    one; the hub's API either way), where the secrets are (never them)."""
    names = "\n".join(f"    {role:<13} {login}" for role, login in demo.logins)
    pages = f"  sign in at {web_url}/signin (organisation code {demo.agency})\n" if web_url else ""
    return (
        f"demo agency {demo.agency} (local sign-in, password + TOTP):\n{names}\n"
        f"  passwords and TOTP secrets: {demo.accounts_file} (mode 600, this machine only)\n"
        f"{pages}"
        f"  or the API: POST {hub_url}/signin, then /signin/second-factor -> access_token;\n"
        f"  then MEND_TOKEN=<access_token> mend hub staff list --agency {demo.agency}"
    )
