"""The hub's sign-in: what a password check costs at the chosen argon2id parameters, and how many
sign-ins per second the HTTP route takes, with their p99.

- `signin_argon2_p50` (us) / `_p99` (ms): one `PasswordHasher.verify` at the hub's parameters
  (RFC 9106's second recommended option: argon2id t=3, m=64 MiB, p=4). Baselines measured in the
  same run: one SHA-256 of the same password (p50; what an unsalted fast hash would cost, the
  thing argon2id is there to make expensive) and argon2id at its minimal sensible parameters
  (t=1, m=8 MiB, p=1; p99).
- `signin_http_cN` / `signin_http_cN_p99`: POST /signin through the hub's own app (in process,
  over httpx's ASGI transport, on the real database) by N concurrent clients, each signing in
  to its own participant account again and again (password only: a TOTP code is accepted once,
  so repeated sign-ins cannot use one; the second request costs no argon2). Every sign-in does the
  whole work: the argon2id check, the account row, an Ed25519 access token and a refresh family.
  Baseline: GET /health through the same app and client at the same concurrency. The per-address
  limit is lifted for the run (all clients share one address).

Sizes: MEND_BENCH_SIGNIN_SAMPLES (argon2 checks timed, default 100) and
MEND_BENCH_SIGNIN_REQUESTS (sign-ins per concurrency level, default 200)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from mend_events.app.settings import Settings
from mend_events.commands.decider import system_context
from mend_events.contracts.actors import Role
from mend_events.messaging.topics import delete_topics
from mend_events.security.identity import Identity
from mend_events.store.migrate import migrate_schema
from mend_hub.app import build
from mend_hub.commands import OnboardAgency
from mend_hub.signin.journal import SYSTEM
from mend_hub.signin.limits import AddressLimit
from mend_hub.signin.passwords import hasher

from bench.common import Result, percentile, result

PASSWORD = "a long enough passphrase for the bench"
AGENCY = "agency-bench"
CONCURRENCY = (1, 8)


def _timed(fn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def password_costs(samples: int) -> list[Result]:
    ph, minimal = hasher(), hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    stored, stored_min = ph.hash(PASSWORD), minimal.hash(PASSWORD)
    argon = _timed(lambda: ph.verify(stored, PASSWORD), samples)
    cheap = _timed(lambda: minimal.verify(stored_min, PASSWORD), samples)
    sha = _timed(lambda: hashlib.sha256(PASSWORD.encode()).digest(), max(samples, 1000))
    params = "argon2id t=3 m=64MiB p=4"
    # In microseconds: a SHA-256 of a password is well under one millisecond.
    return [
        result("signin_argon2_p50", percentile(argon, 50) * 1000, "us", "sha256 p50",
               percentile(sha, 50) * 1000, lower_is_better=True, note=params),
        result("signin_argon2_p99", percentile(argon, 99), "ms", "argon2id t=1 m=8MiB p=1 p99",
               percentile(cheap, 99), lower_is_better=True, note=params),
    ]  # fmt: skip


async def _accounts(app, n: int) -> list[str]:
    """The bench agency onboarded (local sign-in, a signing key) and `n` participant accounts
    of it (login names `bench-<i>`)."""
    ctx = system_context(SYSTEM, AGENCY, now=datetime.now(UTC))
    await app.state.service.onboard(OnboardAgency(agency_id=AGENCY, name="Bench agency"), ctx)
    enrolment = app.state.signin.enrolment
    await enrolment.add_signing_key(AGENCY, only_if_none=True)
    practitioner = Identity(AGENCY, Role.PRACTITIONER, "prac-bench01")
    names = []
    for i in range(n):
        person = f"hp-bench{uuid.uuid4().hex[:8]}"
        invited = await enrolment.invite_participant(practitioner, person, Role.HARMED_PERSON)
        await enrolment.redeem(invited["activation_code"], f"bench-{i}", PASSWORD, "bench")
        names.append(f"bench-{i}")
    return names


async def _load(client: httpx.AsyncClient, clients: int, total: int, request) -> tuple:
    """(requests per second, latencies in ms) for `total` requests by `clients` workers."""
    latencies: list[float] = []
    per = max(1, total // clients)

    async def worker(i: int) -> None:
        for _ in range(per):
            start = time.perf_counter()
            r = await request(client, i)
            assert r.status_code == 200, r.status_code
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return len(latencies) / (time.perf_counter() - start), latencies


async def http_rates(settings: Settings, requests: int) -> list[Result]:
    schema, prefix = f"bench_hub_{uuid.uuid4().hex[:6]}", f"bench{uuid.uuid4().hex[:6]}."
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, schema, "hub")
    finally:
        await conn.close()
    app, runtime = build(settings, schema=schema, topic_prefix=prefix)
    runtime.relay_enabled = False  # the sign-in's events stay in the store: not what is measured
    await runtime.start()
    out: list[Result] = []
    try:
        app.state.signin.parts.address_limit = AddressLimit(limit=10**9)
        names = await _accounts(app, max(CONCURRENCY))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def sign_in(c: httpx.AsyncClient, i: int) -> httpx.Response:
                body = {"agency": AGENCY, "username": names[i], "password": PASSWORD}
                return await c.post("/signin", json=body)

            async def health(c: httpx.AsyncClient, i: int) -> httpx.Response:
                return await c.get("/health")

            for clients in CONCURRENCY:
                rate, lat = await _load(client, clients, requests, sign_in)
                base_rate, base_lat = await _load(client, clients, requests, health)
                out += [
                    result(f"signin_http_c{clients}", rate, "req/s", "GET /health req/s",
                           base_rate, note="POST /signin, password -> tokens"),
                    result(f"signin_http_c{clients}_p99", percentile(lat, 99), "ms",
                           "GET /health p99", percentile(base_lat, 99), lower_is_better=True),
                ]  # fmt: skip
    finally:
        await runtime.stop()
        conn = await asyncpg.connect(settings.admin_database_url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
        with contextlib.suppress(Exception):
            await delete_topics(settings.kafka_bootstrap, prefix)
    return out


async def run(settings: Settings) -> list[Result]:
    samples = int(os.environ.get("MEND_BENCH_SIGNIN_SAMPLES", "100"))
    requests = int(os.environ.get("MEND_BENCH_SIGNIN_REQUESTS", "200"))
    return password_costs(samples) + await http_rates(settings, requests)
