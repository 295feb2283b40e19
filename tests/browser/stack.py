"""The Mend that the browser tests drive: the hub and the four case services in process on the
real PostgreSQL and Kafka (one topic prefix, so the hub's keys, staff and allocations reach the
services over `hub.events.v1`), each served by uvicorn on a real port, and the participant web
app over them. Development tokens of the test agency carry the kid of a key the hub publishes
for it (an agency with hub keys is verified with those alone)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import uvicorn
from cryptography.hazmat.primitives import serialization
from mend_aftercare.app import build as build_aftercare
from mend_audit.api import build as build_audit
from mend_consent.app import build as build_consent
from mend_hub.app import build as build_hub
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.devkeys import ensure_agency_keys, issue_token, private_key_path
from mend_testkit.fixtures import drop_schema, make_schema, running_service
from mend_testkit.journeys.people import Team
from mend_testkit.waiting import wait_until
from mend_web.app import build as build_web
from mend_web.services import Services
from mend_web.settings import WebSettings

BUILDS = {
    "hub": (build_hub, {}),
    "consent": (build_consent, {"lapse_interval": 3600}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}
OPS, OPERATOR = "mend-ops", "ops-0001aa"
DEV_KID = "dev"
PASSPHRASE = "a long passphrase of my own"
PATIENCE = 30.0  # seconds a consequence over the broker is awaited


@contextlib.asynccontextmanager
async def serving(app: Any, lifespan: str = "off") -> AsyncIterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1, in this event loop (a service's
    runtime is started by `running_service`, so its lifespan is off)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan=lifespan, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def until(what: str, attempt: Callable[[], Awaitable[httpx.Response]]) -> dict[str, Any]:
    """Ask until the answer is a success: the hub hears of its own changes over its topic, so
    a step that depends on the previous one waits for that (never for a flaky result)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        r = await attempt()
        if r.is_success:
            return r.json() if r.content else {}
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {r.status_code} {r.text[:300]}")
        await asyncio.sleep(0.1)


@dataclass
class IndexedCases:
    """A participant's cases as the web app's case index has them: the services' events reach
    it through the broker, so `add` only waits until it lists the case for the person."""

    app: Any

    async def add(self, agency: str, person: str, case_id: str) -> None:
        index = self.app.state.index

        async def listed() -> bool:
            return case_id in await index.cases_of(agency, person)

        await wait_until(listed, PATIENCE)


@dataclass
class Stack:
    agency: str
    keys_dir: Path
    urls: dict[str, str]
    web: str
    cases: IndexedCases
    runtimes: list[Any]
    team: Team = field(default_factory=Team)

    async def trusted(self, what: str, holds: Callable[[Any], bool]) -> None:
        """Wait until every case service's trust snapshot shows `holds`. The hub keeps none of
        its own topic: it admits its own tokens from its own events at once (mend_hub.app)."""
        deadline = time.monotonic() + PATIENCE
        for runtime in self.runtimes:
            if runtime.service == "hub":
                await runtime.settle()  # its projections (staff, caseloads) caught up
                continue
            while not holds(await runtime.trust.current()):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{runtime.service}'s trust never showed {what}")
                await asyncio.sleep(0.05)

    def headers(self, role: str, person: str, agency: str | None = None) -> dict[str, str]:
        agency = agency or self.agency
        if agency == OPS:  # not a hub agency: its development key alone
            raw = issue_token(agency, role, person, keys_dir=self.keys_dir)
        else:
            key = serialization.load_pem_private_key(
                private_key_path(agency, self.keys_dir).read_bytes(), password=None
            )
            raw = issue_token(agency, role, person, kid=DEV_KID, private_key=key)
        return {"Authorization": f"Bearer {raw}"}

    def token(self, role: str, person: str) -> dict[str, str]:
        """The journeys' token source."""
        return self.headers(role, person)

    async def hub(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.urls["hub"], timeout=10) as client:
            return await until(f"hub {path}", lambda: client.post(path, json=body, headers=headers))

    async def allocate(self, case_id: str, practitioner_id: str) -> None:
        """The coordinator allocates the case through the hub, and this returns once every case
        service's trust model has it (the journeys' Allocator promise): the practitioner's next
        request is refused (403) by a service that has not yet taken the allocation in."""
        coordinator = self.headers("coordinator", self.team.coordinator)
        body = {"practitioner_id": practitioner_id, "reason": "new_case"}
        await self.hub(f"/cases/{case_id}/allocations", body, coordinator)
        await self.trusted(
            f"{case_id} allocated to {practitioner_id}",
            lambda snapshot: case_id in snapshot.cases_of(self.agency, practitioner_id),
        )

    async def participant(self, person: str, role: str, username: str) -> None:
        """The facilitator invites the participant; they choose their login and passphrase."""
        facilitator = self.headers("practitioner", self.team.facilitator)
        invited = await self.hub("/invitations", {"person_id": person, "role": role}, facilitator)
        body = {
            "activation_code": invited["activation_code"],
            "username": username,
            "password": PASSPHRASE,
        }
        await self.hub("/invitations/redeem", body, {})

    async def staff_member(self, person: str, username: str) -> pyotp.TOTP:
        """A member of staff's account (the coordinator's activation code), its TOTP second
        factor enrolled and confirmed with the previous step's code, so the browser's sign-in
        can use the current one (each step is accepted once)."""
        coordinator = self.headers("coordinator", self.team.coordinator)
        code = (await self.hub("/accounts", {"person_id": person}, coordinator))["activation_code"]
        body = {"activation_code": code, "username": username, "password": PASSPHRASE}
        await self.hub("/invitations/redeem", body, {})
        first = await self.hub(
            "/signin", {"agency": self.agency, "username": username, "password": PASSPHRASE}, {}
        )
        assert first["status"] == "enrol_second_factor", first
        challenge = first["challenge"]
        uri = (await self.hub(f"/accounts/{person}/totp", {"challenge": challenge}, {}))[
            "provisioning_uri"
        ]
        totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
        earlier = totp.at(time.time() - 30)
        await self.hub("/signin/second-factor", {"challenge": challenge, "code": earlier}, {})
        return totp


async def onboard(stack: Stack) -> None:
    """The agency with local sign-in: the development key (kid `dev`) and a key the hub makes
    for its own sign-ins, a coordinator and the journeys' practitioners."""
    ensure_agency_keys(stack.agency, stack.keys_dir)
    pem = (
        serialization.load_pem_private_key(
            private_key_path(stack.agency, stack.keys_dir).read_bytes(), password=None
        )
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    operator = stack.headers("operator", OPERATOR, OPS)
    body = {
        "agency_id": stack.agency,
        "name": "Test agency",
        "sign_in": "local",
        "keys": [{"kid": DEV_KID, "public_key_pem": pem}],
    }
    await stack.hub("/agencies", body, operator)
    a = stack.agency
    await stack.trusted("the agency's keys", lambda trust: trust.has_keys(a))
    staff = f"/agencies/{a}/staff"
    t = stack.team
    await stack.hub(staff, {"person_id": t.coordinator, "role": "coordinator"}, operator)
    await stack.trusted("the coordinator", lambda trust: (a, t.coordinator) in trust.staff)
    coordinator = stack.headers("coordinator", t.coordinator)
    practitioners = (t.facilitator, t.survivor_specialist, t.hsb_specialist)
    for person in practitioners:
        await stack.hub(staff, {"person_id": person, "role": "practitioner"}, coordinator)
    await stack.hub(f"/agencies/{a}/signing-keys", None, operator)
    await stack.trusted(
        "the practitioners and the hub's signing key",
        lambda trust: (
            all((a, p) in trust.staff for p in practitioners)
            and sum(1 for agency, _ in trust.keys if agency == a) >= 2
        ),
    )


@contextlib.asynccontextmanager
async def running_stack(
    platform: Any, unique: str, topic_prefix: str, keys_dir: Path
) -> AsyncIterator[Stack]:
    async with contextlib.AsyncExitStack() as stack:
        urls, runtimes = {}, []
        for service, (build, options) in BUILDS.items():
            _, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix, **options)
            )
            urls[service] = await stack.enter_async_context(serving(app))
            runtimes.append(runtime)
        # The audit API over the services' stores (it reads them; it keeps nothing itself).
        audit = build_audit(platform, schemas={s: f"{s}_{unique}" for s in BUILDS},
                            topic_prefix=topic_prefix)  # fmt: skip
        urls["audit"] = await stack.enter_async_context(serving(audit, lifespan="on"))
        schema = await make_schema(platform, "web", f"web_{unique}")
        stack.push_async_callback(drop_schema, platform, schema)
        settings = WebSettings(
            production=False,
            insecure_cookies=True,  # plain http on 127.0.0.1: no Secure, no __Host- prefix
        )  # fmt: skip
        clients = Services.at(urls)
        stack.push_async_callback(clients.aclose)
        web_app = build_web(settings, platform=platform, schema=schema,
                            services=clients, topic_prefix=topic_prefix)  # fmt: skip
        web = await stack.enter_async_context(serving(web_app, lifespan="on"))
        cases = IndexedCases(web_app)
        mend = Stack(f"agency-{unique}", keys_dir, urls, web, cases, runtimes)
        await onboard(mend)
        yield mend
