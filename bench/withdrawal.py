"""Withdrawal latency at the consent API under load (issue 4): open-loop at 100 requests/s
against the consent service running as its own process, latency measured from each request's
scheduled send time (no coordinated omission). Baseline: the same HTTP path to `/health` on
the same process at the same rate, so the ratio shows what the command adds over HTTP itself."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid

import asyncpg
import httpx
from mend_events.app.settings import Settings
from mend_events.messaging.topics import delete_topics, ensure_topics
from mend_events.store.migrate import migrate_schema
from mend_testkit.devkeys import ensure_agency_keys, issue_token
from mend_testkit.directory import apply_case_events, sessions_event
from mend_testkit.samples import case_opened, consent_body

from bench.common import Result, latency_results

RATE, SECONDS = 100, 20
AGENCY = "agency-bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _open_loop(send, count: int, rate: float) -> list[float]:
    """Fire `count` requests at `rate`/s on schedule; each latency counts from its slot."""
    start = time.perf_counter() + 0.2
    latencies: list[float] = []

    async def one(i: int) -> None:
        slot = start + i / rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        await send(i)
        latencies.append((time.perf_counter() - slot) * 1000)

    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies


async def run(settings: Settings) -> list[Result]:
    keys = os.path.join(os.environ.get("MEND_HOME", ".mend"), "keys")
    ensure_agency_keys(AGENCY, keys)
    port = _free_port()
    env = {
        **os.environ,
        "MEND_KEYS_DIR": keys,
        "MEND_DATABASE_URL": settings.database_url,
        "MEND_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    # Its own schema and topics, like every suite: a platform started by `make up` runs a
    # consent service on the shared schema, whose projections and relay would share the work.
    tag = uuid.uuid4().hex[:6]
    schema, prefix = f"bench_consent_{tag}", f"bench.{tag}."
    await ensure_topics(settings.kafka_bootstrap, ["consent"], prefix=prefix)
    admin = await asyncpg.connect(settings.admin_database_url)
    await migrate_schema(admin, schema, "consent")
    serve = (
        f"from mend_events.app.serve import serve_app; from mend_consent.app import build; "
        f"serve_app(build(schema={schema!r}, topic_prefix={prefix!r})[0], "
        f"host='127.0.0.1', port={port}, loop='uvloop')"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        serve,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    count = RATE * SECONDS
    try:
        async with httpx.AsyncClient(
            base_url=base, timeout=10, limits=httpx.Limits(max_connections=64)
        ) as http:
            for _ in range(100):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            people = [f"hp-{uuid.uuid4().hex[:10]}" for _ in range(count)]
            auth = [
                {
                    "Authorization": "Bearer "
                    + issue_token(AGENCY, "harmed_person", p, keys_dir=keys)
                }
                for p in people
            ]
            cases = [f"case-b{uuid.uuid4().hex[:10]}" for _ in range(count)]
            # Each case as the sessions service opened it, through the directory's own apply.
            await apply_case_events(
                admin,
                schema,
                [
                    sessions_event(case, case_opened(person, AGENCY), agency=AGENCY, actor=person)
                    for case, person in zip(cases, people, strict=True)
                ],
            )
            grants = [str(uuid.uuid4()) for _ in range(count)]
            sem = asyncio.Semaphore(16)

            async def give(i: int) -> None:
                async with sem:
                    r = await http.post(
                        f"/cases/{cases[i]}/consents",
                        headers=auth[i],
                        json=consent_body(people[i], grant_id=grants[i]),
                    )
                    r.raise_for_status()

            await asyncio.gather(*(give(i) for i in range(count)))
            health = await _open_loop(lambda i: http.get("/health"), count, RATE)

            async def withdraw(i: int) -> None:
                r = await http.post(
                    f"/cases/{cases[i]}/consents/{grants[i]}/withdrawal", headers=auth[i], json={}
                )
                assert r.status_code == 201, r.text

            latencies = await _open_loop(withdraw, count, RATE)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
        await delete_topics(settings.kafka_bootstrap, prefix)
    note = (
        f"{count} withdrawals open-loop at {RATE}/s over HTTP to a uvicorn process (own "
        f"schema and topics, relay and projection running)"
    )
    return latency_results(
        "withdrawal.p{p}", latencies, "GET /health p{p} same rate", health, note=note
    )
