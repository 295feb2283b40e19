"""The demo cases `make up` shows in the web app: a few cases of the demo agency opened by its
coordinator at the harmed people's request, allocated to the first demo practitioner, one with
an unresolved risk flag raised by that practitioner (so their work queue has something in it).
Everything through the services' own HTTP APIs, signed in as the demo coordinator and
practitioner with the accounts `mend_hub.demo` wrote (the same routes and rules as for anyone).

The case ids are fixed: run again, it changes nothing (what exists already is answered 409 and
left). Refused when MEND_ENV=production. Pseudonymous ids and codes only."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import httpx
import pyotp
from mend_events.app.settings import is_production

DEMO_AGENCY = "agency-demo"
# (case id, harmed person, harm category, an unresolved risk flag)
DEMO_CASES = (
    ("case-demo-0001", "hp-demo0001", "sexual_assault", True),
    ("case-demo-0002", "hp-demo0002", "image_based_abuse", False),
    ("case-demo-0003", "hp-demo0003", "intrafamilial_sexual_abuse", False),
)
PATIENCE = 60.0  # seconds a step waits for the services to hear of the previous one


class DemoCasesFailed(RuntimeError):
    """A step was refused (its status, never a secret)."""


def accounts(path: Path) -> dict[str, dict[str, str]]:
    """The demo accounts file's rows by role (the first of each role)."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    header, *body = rows
    out: dict[str, dict[str, str]] = {}
    for row in body:
        entry = dict(zip(header, row, strict=True))
        out.setdefault(entry["role"], entry)
    return out


async def set_up_cases(
    clients: Mapping[str, httpx.AsyncClient],
    accounts_file: Path,
    *,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The demo cases on the services `clients` reach (hub, sessions, risk); returns their ids."""
    if is_production(environ if environ is not None else os.environ):
        raise DemoCasesFailed("MEND_ENV=production: the demo cases are refused")
    people = accounts(accounts_file)
    coordinator = await signed_in(clients["hub"], people["coordinator"])
    practitioner = people["practitioner"]
    prac_token = await signed_in(clients["hub"], practitioner)
    return await open_cases(clients, coordinator, practitioner["person_id"], prac_token)


async def open_cases(
    clients: Mapping[str, httpx.AsyncClient], coordinator: str, prac_id: str, prac_token: str
) -> list[str]:
    """The cases opened and allocated with the coordinator's token, the flag raised with the
    practitioner's; what was done before is left as it is."""
    hub = clients["hub"]
    for case_id, harmed, harm, flagged in DEMO_CASES:
        body = {"harm_category": harm, "justice_stage": "none", "route": "agency_on_request",
                "harmed_person_id": harmed}  # fmt: skip
        await _done(clients["sessions"], f"/cases/{case_id}/open", body, coordinator, "open")
        allocation = {"practitioner_id": prac_id, "reason": "new_case"}
        await _done(hub, f"/cases/{case_id}/allocations", allocation, coordinator, "allocate")
        if flagged:
            flag = {"flag_id": str(uuid5(NAMESPACE_URL, f"mend-demo/{case_id}/flag")),
                    "severity": "low", "category": "other", "affects": None}  # fmt: skip
            await _done(clients["risk"], f"/cases/{case_id}/flags", flag, prac_token, "flag")
    return [c[0] for c in DEMO_CASES]


async def signed_in(hub: httpx.AsyncClient, account: dict[str, str]) -> str:
    """The account's access token: password, then the authenticator's next code (the set-up
    may have used the current one; each step is accepted once, the next within the drift)."""
    body = {"agency": DEMO_AGENCY, "username": account["login"], "password": account["password"]}
    first = await hub.post("/signin", json=body)
    _ok(first, "sign in")
    code = pyotp.TOTP(account["totp_secret"]).at(time.time() + 30)
    done = await hub.post("/signin/second-factor",
                          json={"challenge": first.json()["challenge"], "code": code})  # fmt: skip
    _ok(done, "second factor")
    return done.json()["access_token"]


async def _done(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], token: str, step: str
) -> None:
    """Post until it is done (2xx) or was done before (409): each service hears of the previous
    step (the opening, the allocation) over the broker a moment after it."""
    deadline = time.monotonic() + PATIENCE
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        r = await client.post(path, json=body, headers=headers)
        if r.is_success or r.status_code == 409:
            return
        if r.status_code not in (401, 403, 404) or time.monotonic() > deadline:
            _ok(r, step)
        await asyncio.sleep(0.2)


def _ok(response: httpx.Response, step: str) -> None:
    if not response.is_success:
        raise DemoCasesFailed(f"demo cases: {step}: HTTP {response.status_code}")
