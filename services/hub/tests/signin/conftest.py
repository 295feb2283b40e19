"""The hub's sign-in on the real PostgreSQL and broker: an app with the sign-in installed (until
the hub's own app is merged, a bare hub app), a clock the test moves, and helpers that walk a
person from activation code to tokens through the routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from fastapi import APIRouter
from mend_events.app.serve import service_app
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    StaffDeactivated,
    StaffEnrolled,
    agency_stream,
    staff_stream,
)
from mend_hub.signin.journal import Journal
from mend_hub.signin.wiring import install
from mend_testkit.fixtures import running_service

PASSWORD = "correct horse battery staple"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def build(settings, *, schema: str, topic_prefix: str, clock: Clock):
    app, runtime = service_app("hub", settings, schema, topic_prefix, APIRouter())
    install(app, runtime, clock=clock)
    return app, runtime


@dataclass
class Hub:
    client: httpx.AsyncClient
    app: object
    runtime: object
    clock: Clock
    token: object  # the dev-keys token fixture, for the coordinator and practitioner callers
    password: str = PASSWORD

    @property
    def signin(self):
        return self.app.state.signin

    async def record(self, stream: str, event, agency: str) -> None:
        await Journal(self.runtime.store).record(
            stream, [event], actor=None, agency=agency, now=self.clock()
        )

    async def enrol(self, agency: str, person: str, role: Role = Role.PRACTITIONER) -> None:
        event = StaffEnrolled(agency_id=agency, person_id=person, role=role)
        await self.record(staff_stream(person), event, agency)

    async def deactivate(self, agency: str, person: str) -> None:
        event = StaffDeactivated(agency_id=agency, person_id=person, reason="left_agency")
        await self.record(staff_stream(person), event, agency)

    async def suspend(self, agency: str) -> None:
        from mend_events.contracts.catalog.hub import AgencySuspended

        event = AgencySuspended(agency_id=agency, reason="under_review")
        await self.record(agency_stream(agency), event, agency)

    async def staff_code(self, agency: str, person: str) -> str:
        headers = self.token(Role.COORDINATOR, "coord-0001aa", agency)
        r = await self.client.post("/accounts", json={"person_id": person}, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()["activation_code"]

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
        assert (
            await self.redeem(await self.staff_code(agency, person), username)
        ).status_code == 201
        first = await self.sign_in(agency, username)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "enrol_second_factor"
        challenge = first.json()["challenge"]
        r = await self.client.post(f"/accounts/{person}/totp", json={"challenge": challenge})
        assert r.status_code == 201, r.text
        secret = parse_qs(urlparse(r.json()["provisioning_uri"]).query)["secret"][0]
        done = await self.code(challenge, pyotp.TOTP(secret).at(self.clock()))
        assert done.status_code == 200, done.text
        return secret, done.json()


@pytest.fixture
async def hub(platform, unique, topic_prefix, token):
    clock = Clock()
    async with running_service(build, "hub", platform, unique, topic_prefix, clock=clock) as (
        client,
        app,
        runtime,
    ):
        yield Hub(client, app, runtime, clock, token)


@pytest.fixture
def agency(unique) -> str:
    return f"agency-{unique}"
