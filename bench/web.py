"""The web app's work queue and case search over its case index, with 10,000 cases in it.

The index is filled in process through the projection's own code (the fold of each case's
events, `mend_web.index.model`, and the tables' bulk write, `CaseIndex.write`): 10,000 cases of
one agency, allocated to 50 practitioners (200 each), at every stage, most with due items
(check-ins, lapsing consents, flags, commitments). Then, through the web app itself (in
process over httpx's ASGI transport, on the real database, signed-in sessions in its own
table), one client at a time:

- `web_queue_p99`: GET /queue of a practitioner (their 200 cases' due items, soonest first);
- `web_search_p99`: GET /search?stage=..&due=true of a practitioner (their caseload filtered);
- `web_search_agency_p99`: GET /search of a coordinator (the whole agency, latest first);

each against GET /health through the same app and client in the same run (p99, lower is
better; goal: under 150 ms). Sizes: MEND_BENCH_WEB_CASES (default 10000) and
MEND_BENCH_WEB_REQUESTS (requests per page, default 300)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from mend_events.app.settings import Settings
from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.store.migrate import migrate_schema
from mend_web.app import build
from mend_web.index import model
from mend_web.index.tables import CaseIndex
from mend_web.pages import now
from mend_web.services import Services
from mend_web.settings import WebSettings

from bench.common import Result, page_latencies, percentile, result

AGENCY = "agency-bench"
PRACTITIONERS = 50
T0 = datetime(2026, 12, 1, tzinfo=UTC)
HARMS = ("rape", "sexual_assault", "image_based_abuse", "online_sexual_abuse")


def _event(case: str, n: int, service: str, kind: str, data: dict, at: datetime):
    meta = Metadata("prac-bench00", Role.PRACTITIONER, AGENCY, uuid.uuid4(), None, at)
    return RecordedEvent(global_position=n, stream_id=case, stream_version=n, event_id=uuid.uuid4(),
                         event_type=kind, schema_version=1, data=data, recorded_at=at,
                         case_id=case, metadata=meta, service=service)  # fmt: skip


def case_entry(i: int) -> model.Entry:
    """Case `i`'s entry, folded from a plausible history (more of it the further it got)."""
    case, hp, at = f"case-bench{i:06d}", f"hp-bench{i:06d}", T0 + timedelta(minutes=i)
    prac = f"prac-bench{i % PRACTITIONERS:02d}"
    history = [
        ("sessions", "CaseOpened", {"agency": AGENCY, "harm_category": HARMS[i % len(HARMS)],
                                    "harmed_person_id": hp}),
        ("hub", "CaseAllocated", {"agency_id": AGENCY, "case_id": case, "practitioner_id": prac}),
        ("consent", "ConsentGiven", {"grant_id": str(uuid.uuid4()), "participant_id": hp,
                                     "participant_role": "harmed_person",
                                     "expires_at": (at + timedelta(days=30)).isoformat()}),
        ("risk", "RiskFlagRaised", {"flag_id": str(uuid.uuid4())}),
        ("risk", "RiskAssessmentCompleted", {"decision": "proceed",
                                             "valid_until": (at + timedelta(days=90)).isoformat()}),
        ("aftercare", "CheckInScheduled", {"check_in_id": str(uuid.uuid4()),
                                           "due_at": (at + timedelta(days=7)).isoformat()}),
        ("aftercare", "CommitmentRecorded", {"commitment_id": str(uuid.uuid4()),
                                             "due_on": (at + timedelta(days=60)).date()
                                             .isoformat()}),
    ]  # fmt: skip
    entry = model.empty(case)
    for n, (service, kind, data) in enumerate(history[: 2 + i % (len(history) - 1)], start=1):
        entry = model.evolve(entry, _event(case, n, service, kind, data, at))
    return entry


async def fill(pool: asyncpg.Pool, schema: str, cases: int) -> float:
    """The index filled through the projection's code; returns cases per second."""
    started = time.perf_counter()
    index = CaseIndex(schema)
    for start in range(0, cases, 1000):
        entries = [case_entry(i) for i in range(start, min(cases, start + 1000))]
        async with pool.acquire() as conn, conn.transaction():
            await index.write(conn, entries, replace=False)
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        for table in ("case_index", "case_index_staff", "case_index_due"):
            await conn.execute(f"ANALYZE {schema}.{table}")
    return cases / elapsed


async def _session(app, role: str, person: str) -> str:
    store = app.state.sessions
    _, visitor = await store.start(now())
    claims = {"iss": AGENCY, "sub": person, "role": role}
    tokens = {"access_token": "bench", "expires_in": 3600, "refresh_token": "r" * 43}
    return await store.signed_in(visitor, claims, tokens, now())


async def run(settings: Settings) -> list[Result]:
    cases = int(os.environ.get("MEND_BENCH_WEB_CASES", "10000"))
    requests = int(os.environ.get("MEND_BENCH_WEB_REQUESTS", "300"))
    schema = f"bench_web_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, schema, "web")
    finally:
        await conn.close()
    web = WebSettings(production=False, insecure_cookies=True)
    app = build(web, platform=settings, schema=schema, services=Services({}), index_feed=False)
    out: list[Result] = []
    try:
        async with app.router.lifespan_context(app):
            rate = await fill(app.state.index.pool, schema, cases)
            prac = await _session(app, "practitioner", "prac-bench07")
            coord = await _session(app, "coordinator", "coord-bench1")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await page_latencies(client, "/queue", prac, 20)  # warm: plans, templates
                health = await page_latencies(client, "/health", prac, requests)
                pages = {
                    "web_queue_p99": ("/queue", prac),
                    "web_search_p99": ("/search?stage=aftercare&due=true", prac),
                    "web_search_agency_p99": ("/search", coord),
                }
                timed = {
                    n: await page_latencies(client, p, c, requests) for n, (p, c) in pages.items()
                }
            base = percentile(health, 99)
            note = f"{cases} cases in the index, {requests} requests each, one client"
            out.append(result("web_index_fill", rate, "cases/s", "-", 0.0, note=note))
            for name, lat in timed.items():
                p50 = f"p50 {percentile(lat, 50):.1f} ms"
                out.append(result(name, percentile(lat, 99), "ms", "GET /health p99", base,
                                  lower_is_better=True, note=p50))  # fmt: skip
    finally:
        conn = await asyncpg.connect(settings.admin_database_url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
    return out


if __name__ == "__main__":  # python -m bench.web (alone)
    from bench.__main__ import table

    print(table(asyncio.run(run(Settings.from_env()))))
