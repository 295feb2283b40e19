"""The hub's sign-in on the real PostgreSQL and broker: the hub's own app (mend_hub.app.build),
a clock the sign-in reads that the test moves, and helpers that walk a person from onboarding and
enrolment (the hub's routes) through activation code to tokens (the sign-in's routes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import ENROLLED_ROLES
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import Callers, onboard, open_account

PASSWORD = "correct horse battery staple"
COORDINATOR = "coord-0001aa"  # every agency's coordinator in these tests


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Hub:
    client: httpx.AsyncClient
    app: object
    runtime: object
    clock: Clock
    token: object  # the dev-keys token fixture, for the coordinator and practitioner callers
    password: str = PASSWORD
    onboarded: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)

    @property
    def signin(self):
        return self.app.state.signin

    @property
    def who(self) -> Callers:
        return Callers(self.token)

    async def onboard(self, agency: str) -> None:
        if agency not in self.onboarded:
            await onboard(self.client, self.who, agency, keys=0)
            self.onboarded.add(agency)

    async def ready(self, agency: str) -> dict:
        """The agency onboarded with local sign-in: its first signing key is made by the hub in
        the onboarding request itself."""
        await self.onboard(agency)
        kid = await self.signin.enrolment.current_key(agency)
        assert kid is not None
        return {"agency_id": agency, "kid": kid}

    async def minted(self, agency: str, person: str, role: Role) -> dict[str, str]:
        """A token the hub signs with the agency's own key, as its sign-in would for `person`
        (a test's shortcut past the password and code, for callers that are not under test)."""
        parts = self.signin.parts
        async with parts.pool.acquire() as conn:
            raw, _ = await parts.keys.mint(conn, agency, person, role, datetime.now(UTC))
        return {"Authorization": f"Bearer {raw}"}

    async def trusted(self, agency: str, *staff: str) -> None:
        """The agency's key, as the hub's routes admit its tokens: from its own events, at once
        (mend_hub.app: every route admits the tokens the hub signed, checked against its own
        state), so there is nothing to wait for; only that the key exists is checked."""
        assert await self.signin.enrolment.current_key(agency) is not None

    async def caller(self, role: Role | str, person: str, agency: str) -> dict[str, str]:
        """A caller's Authorization header. For an agency the hub keeps signing keys for, its
        tokens are verified with those alone (the trust model): the person is enrolled first
        (staff roles) and the hub signs their token. Any other agency: a development token."""
        role = Role(role)
        if await self.signin.enrolment.current_key(agency) is None:
            return self.token(role, person, agency)
        if role in ENROLLED_ROLES and role is not Role.OPERATOR:
            await self._enrolled(agency, person, role)
        return await self.minted(agency, person, role)

    async def coordinator(self, agency: str) -> dict[str, str]:
        """The agency's coordinator, admitted by the hub's core routes (its trust model knows
        them: waited for, bounded)."""
        headers = await self.caller(Role.COORDINATOR, COORDINATOR, agency)
        await self.trusted(agency, COORDINATOR)
        return headers

    async def _enrolled(self, agency: str, person: str, role: Role) -> None:
        staff = await self.signin.parts.standing.staff(person, agency)
        if staff is None:
            await self.enrol(agency, person, role)

    async def enrol(self, agency: str, person: str, role: Role = Role.PRACTITIONER) -> None:
        await self.onboard(agency)
        if role is Role.COORDINATOR:
            headers = self.who.operator()
        else:
            headers = await self.coordinator(agency)
        body = {"person_id": person, "role": str(role)}
        r = await self.client.post(f"/agencies/{agency}/staff", json=body, headers=headers)
        assert r.status_code == 201, r.text

    async def deactivate(self, agency: str, person: str) -> None:
        path = f"/agencies/{agency}/staff/{person}/deactivation"
        body = {"reason": "left_agency"}
        r = await self.client.post(path, json=body, headers=await self.coordinator(agency))
        assert r.status_code == 201, r.text

    async def suspend(self, agency: str) -> None:
        body = {"reason": "under_review"}
        path = f"/agencies/{agency}/suspension"
        r = await self.client.post(path, json=body, headers=self.who.operator())
        assert r.status_code == 201, r.text

    async def staff_code(self, agency: str, person: str) -> str:
        headers = await self.caller(Role.COORDINATOR, COORDINATOR, agency)
        r = await self.client.post("/accounts", json={"person_id": person}, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()["activation_code"]

    async def allocated(self, agency: str, practitioner: str, person: str, role: str) -> None:
        """A case of the agency that `person` takes part in as `role`, allocated through the
        hub's API to `practitioner` (whom a practitioner may invite: their cases' people)."""
        case = "case-" + person.replace("-", "")
        if case in self.cases:
            return
        hp = person if role == "harmed_person" else "hp-" + person.split("-", 1)[1]
        members = {} if role == "harmed_person" else {person: role}
        await open_case(self.runtime, case, hp, agency=agency, members=members)
        await self._enrolled(agency, practitioner, Role.PRACTITIONER)
        body = {"practitioner_id": practitioner}
        headers = await self.coordinator(agency)
        r = await self.client.post(f"/cases/{case}/allocations", json=body, headers=headers)
        assert r.status_code == 201, r.text
        self.cases.add(case)

    async def redeem(self, code: str, username: str, password: str = PASSWORD) -> httpx.Response:
        body = {"activation_code": code, "username": username, "password": password}
        return await self.client.post("/invitations/redeem", json=body)

    async def sign_in(self, agency: str, username: str, password: str = PASSWORD):
        body = {"agency": agency, "username": username, "password": password}
        return await self.client.post("/signin", json=body)

    async def code(self, challenge: str, code: str) -> httpx.Response:
        body = {"challenge": challenge, "code": code}
        return await self.client.post("/signin/second-factor", json=body)

    async def staff_member(self, agency: str, person: str, username: str) -> tuple[str, dict]:
        """Enrolled, activated, TOTP enrolled, signed in: (the TOTP secret, the tokens)."""
        await self.enrol(agency, person)
        code = await self.staff_code(agency, person)
        return await open_account(
            self.client, agency, person, code, (username, PASSWORD), self.clock()
        )


@pytest.fixture
async def hub(platform, unique, topic_prefix, token):
    clock = Clock()
    async with running_service(build, "hub", platform, unique, topic_prefix) as (c, app, rt):
        app.state.signin.parts.clock = clock
        yield Hub(c, app, rt, clock, token)


@pytest.fixture
def agency(unique) -> str:
    return f"agency-{unique}"
