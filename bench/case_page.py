"""The practitioner's case page (issue 17: under 250 ms), next to GET /health of the same app.

The four case services run in process on their own schemas and topics (real database, real
broker); a journey brings one case to the contact stage (consents, assessment, preparation, a
meeting scheduled), with its after-care, and the web app in front of them shows it to the
allocated practitioner: GET /cases/{id} asks the sessions, consent, risk and aftercare services
for their parts and the gates of the scheduled meeting, each over HTTP in process with the
practitioner's own token. One client, MEND_BENCH_CASE_PAGE_REQUESTS requests (default 200).
Everything shares one event loop here, so the figure is conservative: deployed, each service
answers on its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
from mend_aftercare.app import build as build_aftercare
from mend_consent.app import build as build_consent
from mend_events.app.settings import Settings
from mend_events.contracts.actors import Role
from mend_events.messaging.topics import delete_topics
from mend_events.store.migrate import migrate_schema
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.devkeys import DEV_KID, ensure_agency_keys, issue_token
from mend_testkit.directory import allocator
from mend_testkit.fixtures import running_service
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_web.app import build as build_web
from mend_web.pages import now
from mend_web.services import Services
from mend_web.settings import WebSettings

from bench.common import Result, page_latencies, percentile, result

AGENCY = "agency-a"
BUILDS = {
    "consent": (build_consent, {"lapse_interval": 3600}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}


async def run(settings: Settings) -> list[Result]:
    requests = int(os.environ.get("MEND_BENCH_CASE_PAGE_REQUESTS", "200"))
    keys = Path(os.environ.get("MEND_HOME", ".mend")) / "keys"
    ensure_agency_keys(AGENCY, keys)

    def token(role: str, person: str, agency: str = AGENCY) -> dict[str, str]:
        raw = issue_token(agency, Role(role), person, keys_dir=keys, kid=DEV_KID)
        return {"Authorization": f"Bearer {raw}"}

    unique = uuid.uuid4().hex[:8]
    prefix = f"t{unique}."
    web_schema = f"bench_page_{unique}"
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(delete_topics, settings.kafka_bootstrap, prefix)
        clients, transports, runtimes = {}, {}, []
        for service, (build, options) in BUILDS.items():
            client, app, runtime = await stack.enter_async_context(
                running_service(build, service, settings, unique, prefix, **options)
            )
            clients[service], transports[service] = client, httpx.ASGITransport(app=app)
            runtimes.append(runtime)
        driver = await stack.enter_async_context(
            Driver.connect(token, transports=transports, timeout=30, allocate=allocator(runtimes))
        )
        case = new_case(driver, "bench-page", "a meeting scheduled")
        c = case.cast
        await case.up_to_contact(["face_to_face"], min_gap_days=14)
        await case.schedule("meeting", "face_to_face", [c.harmed, c.responsible],
                            at=timedelta(days=3))  # fmt: skip

        admin = await asyncpg.connect(settings.admin_database_url)
        try:
            await migrate_schema(admin, web_schema, "web")
        finally:
            await admin.close()

        async def drop() -> None:
            conn = await asyncpg.connect(settings.admin_database_url)
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {web_schema} CASCADE")
            finally:
                await conn.close()

        stack.push_async_callback(drop)
        web = WebSettings(production=False, insecure_cookies=True)
        app = build_web(web, platform=settings, schema=web_schema, topic_prefix=prefix,
                        services=Services(clients), index_feed=False)  # fmt: skip
        await stack.enter_async_context(app.router.lifespan_context(app))
        practitioner = driver.team.facilitator
        raw = token("practitioner", practitioner)["Authorization"].removeprefix("Bearer ")
        _, visitor = await app.state.sessions.start(now())
        claims = {"iss": AGENCY, "sub": practitioner, "role": "practitioner"}
        tokens = {"access_token": raw, "expires_in": 3600, "refresh_token": "r" * 43}
        cookie = await app.state.sessions.signed_in(visitor, claims, tokens, now())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = f"/cases/{case.id}"
            first = await client.get(page, cookies={"mend_session": cookie})
            session_id = case.journey().sessions["meeting"]
            assert first.status_code == 200 and session_id in first.text, first.status_code
            await page_latencies(client, page, cookie, 10)  # warm: plans, templates
            health = await page_latencies(client, "/health", cookie, requests)
            timed = await page_latencies(client, page, cookie, requests)
    note = f"p50 {percentile(timed, 50):.1f} ms; 4 services in process, one client"
    return [result("web_case_page_p99", percentile(timed, 99), "ms", "GET /health p99",
                   percentile(health, 99), lower_is_better=True, note=note)]  # fmt: skip


if __name__ == "__main__":  # python -m bench.case_page (alone)
    from bench.__main__ import table

    print(table(asyncio.run(run(Settings.from_env()))))
