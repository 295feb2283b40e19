"""What the hub's trust model adds to a request (`python -m bench trust`, small sizes).

A deployment's trust tables at a plausible size (AGENCIES agencies, STAFF staff, ALLOCATIONS
current allocations) in a fresh schema, then:
- `trust.admit` (us): a cached token verified and admitted by the snapshot, against the same
  cached token without a trust model (what every request paid before);
- `trust.request` (us, p50): one authenticated GET through the ASGI stack (FastAPI's
  dependency, `require_identity`), with the app's TrustView against without one;
- `trust.fallback` (us, p50): `TrustView.current()` while its listener is down (one version
  read per request) against while listening (no database);
- `trust.reload` (ms): rebuilding the whole snapshot (any change but an allocation, or a
  notification missed), once per change per instance, against one `SELECT 1` round trip;
- `trust.allocation` (ms, p50): from an allocation's commit to the snapshot that has it (the
  NOTIFY, then only that practitioner's cases read again), against the same round trip.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, FastAPI
from mend_events.app.settings import Settings
from mend_events.contracts.catalog.hub import AllocationReason, CaseAllocated
from mend_events.security import identity as identity_mod
from mend_events.security.identity import Identity, TokenVerifier, require_identity
from mend_events.security.public_keys import StaticKeys
from mend_events.security.trust import TrustTables, TrustView
from mend_testkit.devkeys import issue_token
from mend_testkit.directory import hub_event

from bench.common import Result, app_pool, fresh_schema, percentile, result

AGENCIES, STAFF, ALLOCATIONS = 20, 2_000, 10_000
LOOPS, REQUESTS = 20_000, 1_000
AGENCY, PRAC = "agency-00", "prac-00000"


async def _populate(pool, schema: str, pem: str) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            f"INSERT INTO {schema}.trust_agencies (agency, changed_at, source_event_id) "
            f"VALUES ($1, $2, $3)",
            [(f"agency-{a:02d}", now, uuid.uuid4()) for a in range(AGENCIES)],
        )
        await conn.executemany(
            f"INSERT INTO {schema}.trust_agency_keys (agency, kid, public_key_pem, added_at) "
            f"VALUES ($1, 'k1', $2, $3)",
            [(f"agency-{a:02d}", pem, now) for a in range(AGENCIES)],
        )
        await conn.executemany(
            f"INSERT INTO {schema}.trust_staff (agency, person_id, role, changed_at) "
            f"VALUES ($1, $2, 'practitioner', $3)",
            [(f"agency-{p % AGENCIES:02d}", f"prac-{p:05d}", now) for p in range(STAFF)],
        )
        await conn.executemany(
            f"INSERT INTO {schema}.trust_case_allocations (allocation_event_id, agency, case_id, "
            f"practitioner_id, reason, allocated_at, allocated_by) "
            f"VALUES ($1, $2, $3, $4, 'new_case', $5, 'coord-0001')",
            [
                (uuid.uuid4(), f"agency-{(c % STAFF) % AGENCIES:02d}", f"case-{c:06d}",
                 f"prac-{c % STAFF:05d}", now)
                for c in range(ALLOCATIONS)
            ],
        )  # fmt: skip
        await conn.execute(f"UPDATE {schema}.trust_version SET version = 1")


def _us_per(loops: int, started: float) -> float:
    return (time.perf_counter() - started) / loops * 1e6


async def run(settings: Settings) -> list[Result]:
    key = ed25519.Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = issue_token(AGENCY, "practitioner", PRAC, kid="k1", private_key=key)
    out: list[Result] = []
    pool = await app_pool(settings, 4)
    try:
        async with fresh_schema(settings, "trust") as schema:
            await _populate(pool, schema, pem)
            view = TrustView(pool, schema, settings.database_url)
            await view.start()
            try:
                out += await _measure(view, pool, token, key)
            finally:
                await view.stop()
    finally:
        await pool.close()
    return out


async def _measure(view: TrustView, pool, token: str, key) -> list[Result]:
    trust = await view.current()
    verifier = TokenVerifier(StaticKeys({AGENCY: key.public_key()}))
    assert (await verifier.authenticate(token, trust)).cases  # allocated, cached from here on
    verifier.verify(token)
    started = time.perf_counter()
    for _ in range(LOOPS):
        await verifier.authenticate(token, trust)
    admitted = _us_per(LOOPS, started)
    started = time.perf_counter()
    for _ in range(LOOPS):
        verifier.verify(token)
    cached = _us_per(LOOPS, started)

    app = FastAPI()

    @app.get("/me")
    async def me(who: Identity = Depends(require_identity)) -> dict:  # noqa: B008
        return {"cases": len(who.cases)}

    identity_mod.reset_default_verifier(verifier)
    headers = {"Authorization": f"Bearer {token}"}
    timings = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        for label, state in (("without", None), ("with", view), ("without", None), ("with", view)):
            app.state.trust = state
            samples = []
            for _ in range(REQUESTS):
                t = time.perf_counter()
                r = await c.get("/me", headers=headers)
                samples.append((time.perf_counter() - t) * 1e6)
            assert r.status_code == 200, r.text
            timings[label] = percentile(samples, 50)  # the second round of each counts
    identity_mod.reset_default_verifier(None)

    started = time.perf_counter()
    for _ in range(LOOPS):
        await view.current()
    listening = _us_per(LOOPS, started)
    await view._close_listener()  # as while the database connection is lost
    samples = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        await view.current()
        samples.append((time.perf_counter() - t) * 1e6)
    fallback = percentile(samples, 50)

    await view.stop()
    await view.start()  # listening again
    tables, changes = TrustTables(view.schema), []
    for n in range(50):
        model = CaseAllocated(agency_id=AGENCY, case_id=f"case-new{n:05d}", practitioner_id=PRAC,
                              reason=AllocationReason.NEW_CASE)  # fmt: skip
        t = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            version = await tables.apply(conn, hub_event(model, model.case_id, agency=AGENCY))
        await view.until(version)
        assert f"case-new{n:05d}" in (await view.current()).cases_of(AGENCY, PRAC)
        changes.append((time.perf_counter() - t) * 1000)

    reloads, trips = [], []
    for _ in range(20):
        t = time.perf_counter()
        await view._load()
        reloads.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        trips.append((time.perf_counter() - t) * 1000)
    size = f"{AGENCIES} agencies, {STAFF} staff, {ALLOCATIONS} allocations"
    return [
        result("trust.admit", admitted, "us", "cached verify", cached, lower_is_better=True,
               note=size),
        result("trust.request.p50", timings["with"], "us", "GET without trust",
               timings["without"], lower_is_better=True, note="ASGI, require_identity"),
        result("trust.fallback.p50", fallback, "us", "current() listening", listening,
               lower_is_better=True, note="listener down: one version read per request"),
        result("trust.reload", statistics.median(reloads), "ms", "SELECT 1 round trip",
               statistics.median(trips), lower_is_better=True, note=size),
        result("trust.allocation.p50", percentile(changes, 50), "ms", "SELECT 1 round trip",
               statistics.median(trips), lower_is_better=True,
               note="commit to snapshot: apply, NOTIFY, one practitioner's cases"),
    ]  # fmt: skip
