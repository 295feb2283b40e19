"""Staff with real sign-in accounts at the hub (activation code, password, TOTP), set up through
the hub's own routes, for the web app's sign-in tests. Everything done with development tokens
happens before the hub makes the agency's signing key: from then on the services accept only
the hub's keys for that agency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from mend_testkit.directory import open_case
from mend_testkit.hub import Callers, enrol, onboard, qualify

PASSWORD = "correct horse battery staple"


@dataclass
class StaffAccount:
    agency: str
    person_id: str
    username: str
    secret: str
    password: str = PASSWORD

    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


async def staffed(world, agency: str, coordinator: str, practitioners=()) -> None:
    """An agency onboarded with its development key published (so development tokens, signed
    under that key's id, stand for its people everywhere), its coordinator and qualified
    practitioners enrolled. The hub's own signing key comes later, for the sign-ins."""
    who = Callers(world.token)
    await onboard(world.hub, who, agency, keys=1, staffed=False)
    await enrol(world.hub, who, agency, coordinator, "coordinator")
    await settled([world.hub_runtime], lambda s: (agency, coordinator) in s.staff)
    token = world.token("coordinator", coordinator, agency)
    for prac in practitioners:
        r = await world.hub.post(f"/agencies/{agency}/staff", headers=token,
                                 json={"person_id": prac, "role": "practitioner"})  # fmt: skip
        assert r.status_code == 201, r.text
        body = {"rj_trained": True, "sexual_harm_trained": True, "level": 2,
                "specialisms": ["survivor_specialist"]}  # fmt: skip
        path = f"/agencies/{agency}/staff/{prac}/qualifications"
        assert (await world.hub.post(path, json=body, headers=token)).status_code == 201
    await settled([world.hub_runtime], lambda s: all((agency, p) in s.staff for p in practitioners))


async def open_and_allocate(world, agency: str, case_id: str, hp: str, prac: str) -> None:
    """The case opened by its harmed person (sessions' API) and allocated to `prac` by the
    agency's coordinator (the hub's API; the hub's case directory told of the opening)."""
    who = Callers(world.token)
    body = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    r = await world.sessions.post(
        f"/cases/{case_id}/open", json=body, headers=world.token("harmed_person", hp, agency)
    )
    assert r.status_code == 201, r.text
    await open_case(world.hub_runtime, case_id, hp, agency=agency)
    r = await world.hub.post(
        f"/cases/{case_id}/allocations",
        json={"practitioner_id": prac},
        headers=who.coordinator(agency),
    )
    assert r.status_code == 201, r.text
    # Every case service of this world learns the allocation over the broker a moment later;
    # a page read before then is refused (403), so wait for each one here, once.
    case_services = [rt for rt in (world.sessions_runtime, world.aftercare_runtime) if rt]
    await settled(case_services, lambda s: case_id in s.cases_of(agency, prac))


async def agency_with_practitioner(world, agency: str, prac: str, cases: dict[str, str]):
    """The agency onboarded (local sign-in), a coordinator and a qualified practitioner
    enrolled, `cases` (case id -> harmed person) opened and allocated to the practitioner, and
    the practitioner's activation code (asked for by the coordinator)."""
    who = Callers(world.token)
    await onboard(world.hub, who, agency, keys=1, staffed=False)
    await enrol(world.hub, who, agency, "coord-bbbb01", "coordinator")
    # The hub admits the coordinator once its trust view (fed by its own topic) knows them.
    await settled([world.hub_runtime], lambda s: (agency, "coord-bbbb01") in s.staff)
    await enrol(world.hub, who, agency, prac, "practitioner")
    await qualify(world.hub, who, agency, prac)
    for case_id, hp in cases.items():
        await open_and_allocate(world, agency, case_id, hp, prac)
    r = await world.hub.post("/accounts", json={"person_id": prac}, headers=who.coordinator(agency))
    assert r.status_code == 201, r.text
    return r.json()["activation_code"]


async def activate(world, agency: str, prac: str, code: str, username: str) -> StaffAccount:
    """The hub makes the agency's signing key; the person redeems the code, chooses a password
    and enrols TOTP (with a code one step old, so the current one is still unused)."""
    who = Callers(world.token)
    r = await world.hub.post(f"/agencies/{agency}/signing-keys", headers=who.operator())
    assert r.status_code == 201, r.text
    body = {"activation_code": code, "username": username, "password": PASSWORD}
    assert (await world.hub.post("/invitations/redeem", json=body)).status_code == 201
    body = {"agency": agency, "username": username, "password": PASSWORD}
    first = (await world.hub.post("/signin", json=body)).json()
    assert first["status"] == "enrol_second_factor", first
    r = await world.hub.post(f"/accounts/{prac}/totp", json={"challenge": first["challenge"]})
    assert r.status_code == 201, r.text
    secret = pyotp.parse_uri(r.json()["provisioning_uri"]).secret
    earlier = pyotp.TOTP(secret).at(datetime.now(UTC) - timedelta(seconds=30))
    body = {"challenge": first["challenge"], "code": earlier}
    r = await world.hub.post("/signin/second-factor", json=body)
    assert r.status_code == 200, r.text
    return StaffAccount(agency, prac, username, secret)


async def settled(runtimes, check: Callable[[Any], bool], within: float = 30.0) -> None:
    """Until each runtime's trust view (fed by the hub's topic through the broker) passes
    `check`: the services learn the hub's facts a moment after the hub records them."""
    deadline = time.monotonic() + within
    # The hub keeps no trust model of its own topic: it admits its own tokens from its own
    # events at once (mend_hub.app); what its pages read is its projections, caught up here.
    for runtime in runtimes:
        if runtime.service == "hub":
            await runtime.settle()
            continue
        while not check(await runtime.trust.current()):
            assert time.monotonic() < deadline, "the hub's facts never arrived"
            await asyncio.sleep(0.05)


async def trusted_everywhere(world, agency: str, prac: str, cases) -> None:
    """The hub and the sessions service know the agency's key and the practitioner's cases."""
    await settled(
        [world.hub_runtime, world.sessions_runtime],
        lambda s: s.has_keys(agency) and set(cases) <= s.cases_of(agency, prac),
    )


async def practitioner_account(world, agency: str, prac: str, username: str, cases=None):
    """An agency whose practitioner has a sign-in account (`username`) and `cases` (case id ->
    harmed person) allocated, known to the hub and the sessions service."""
    code = await agency_with_practitioner(world, agency, prac, cases or {})
    account = await activate(world, agency, prac, code, username)
    if cases:
        await trusted_everywhere(world, agency, prac, set(cases))
    return account
