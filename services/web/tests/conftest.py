"""The web app's test world: the web app in process (ASGI) on its own schema, in front of the
real hub, sessions and aftercare services and the audit API over their stores, also in process
on their own schemas and topics (the real PostgreSQL and broker). `World.browser()` is a
cookie-keeping client as a browser would be; `World.signed_in_as(...)` a browser whose web
session holds a development-key token of a given caller (for the access matrix; the sign-in
itself is tested through the forms)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mend_aftercare.app import build as build_aftercare
from mend_audit.api import build as build_audit
from mend_events.app.settings import SERVICES
from mend_events.messaging.topics import ensure_topics
from mend_hub.app import build as build_hub
from mend_sessions.app import build as build_sessions
from mend_testkit.fixtures import drop_schema, make_schema, running_service
from mend_web.app import build
from mend_web.pages import now
from mend_web.services import Services
from mend_web.settings import WebSettings

BASE = "https://mend.test"  # https, so the __Host- cookie (Secure) is sent back
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class World:
    app: Any
    hub: httpx.AsyncClient
    hub_runtime: Any
    hub_app: Any
    sessions: httpx.AsyncClient
    sessions_runtime: Any
    token: Any
    _stack: contextlib.AsyncExitStack
    aftercare_runtime: Any = None  # its trust view: pages that read support plans wait on it

    async def browser(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        client = httpx.AsyncClient(transport=transport, base_url=BASE)
        return await self._stack.enter_async_context(client)

    async def signed_in_as(self, role: str, person: str, agency: str = "agency-a"):
        """A browser signed in as the caller: its web session holds a development-key token
        of theirs (the services verify it as any other)."""
        raw = self.token(role, person, agency)["Authorization"].removeprefix("Bearer ")
        store = self.app.state.sessions
        _, visitor = await store.start(now())
        claims = {"iss": agency, "sub": person, "role": str(role)}
        tokens = {"access_token": raw, "expires_in": 3600, "refresh_token": "r" * 43}
        cookie = await store.signed_in(visitor, claims, tokens, now())
        client = await self.browser()
        client.cookies.set(self.app.state.settings.cookie_name, cookie, domain="mend.test")
        return client


@pytest.fixture
async def world(platform, unique, topic_prefix, token) -> AsyncIterator[World]:
    # All five: the web app's case index subscribes to each.
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    async with contextlib.AsyncExitStack() as stack:
        hub, hub_app, hub_rt = await stack.enter_async_context(
            running_service(build_hub, "hub", platform, unique, topic_prefix)
        )
        sessions, _, sessions_rt = await stack.enter_async_context(
            running_service(build_sessions, "sessions", platform, unique, topic_prefix)
        )
        aftercare, _, aftercare_rt = await stack.enter_async_context(
            running_service(build_aftercare, "aftercare", platform, unique, topic_prefix)
        )
        schema = await make_schema(platform, "web", f"web_{unique}")
        stack.push_async_callback(drop_schema, platform, schema)
        settings = WebSettings(production=False)
        audit = await audit_over(
            stack, platform, unique, topic_prefix, ["hub", "sessions", "aftercare"]
        )
        clients = {"hub": hub, "sessions": sessions, "aftercare": aftercare, "audit": audit}
        app = build(settings, platform=platform, schema=schema, topic_prefix=topic_prefix,
                    services=Services(clients))  # fmt: skip
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield World(app, hub, hub_rt, hub_app, sessions, sessions_rt, token, stack, aftercare_rt)


async def audit_over(
    stack: contextlib.AsyncExitStack, platform, unique: str, topic_prefix: str, services: list[str]
) -> httpx.AsyncClient:
    """The audit API in process over these services' stores (the schemas `running_service`
    made): it reads them, it keeps nothing of its own."""
    app = build_audit(platform, schemas={s: f"{s}_{unique}" for s in services},
                      topic_prefix=topic_prefix)  # fmt: skip
    await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://audit")
    return await stack.enter_async_context(client)


@dataclass
class Mend:
    """The four case services and the hub in process, a journeys driver over them (allocating
    through each service's trust model), and the web app in front of the hub and sessions."""

    world: World
    driver: Any


@pytest.fixture
async def mend(platform, unique, topic_prefix, token) -> AsyncIterator[Mend]:
    from mend_consent.app import build as build_consent
    from mend_risk.app import build as build_risk
    from mend_testkit.directory import allocator
    from mend_testkit.journeys.driver import Driver

    builds = {
        "consent": (build_consent, {"lapse_interval": 0.25}),
        "risk": (build_risk, {}),
        "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
        "aftercare": (build_aftercare, {}),
        "hub": (build_hub, {}),
    }
    await ensure_topics(platform.kafka_bootstrap, list(builds), prefix=topic_prefix)
    async with contextlib.AsyncExitStack() as stack:
        running = {}
        for service, (build_service, options) in builds.items():
            running[service] = await stack.enter_async_context(
                running_service(build_service, service, platform, unique, topic_prefix,
                                **options)
            )  # fmt: skip
        schema = await make_schema(platform, "web", f"web_{unique}")
        stack.push_async_callback(drop_schema, platform, schema)
        settings = WebSettings(production=False)
        hub, hub_app, hub_rt = running["hub"]
        sessions, _, sessions_rt = running["sessions"]
        clients = {s: running[s][0] for s in builds}  # every service in process
        clients["audit"] = await audit_over(stack, platform, unique, topic_prefix, list(builds))
        app = build(settings, platform=platform, schema=schema, topic_prefix=topic_prefix,
                    services=Services(clients))  # fmt: skip
        await stack.enter_async_context(app.router.lifespan_context(app))
        world = World(app, hub, hub_rt, hub_app, sessions, sessions_rt, token, stack)
        case_services = [s for s in builds if s != "hub"]
        transports = {s: httpx.ASGITransport(app=running[s][1]) for s in case_services}
        runtimes = [running[s][2] for s in case_services]
        driver = await stack.enter_async_context(
            Driver.connect(token, transports=transports, timeout=30, allocate=allocator(runtimes))
        )
        yield Mend(world, driver)
