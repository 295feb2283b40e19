"""The commissioners' report as of now: from the kept tallies (mend_audit.reports.live, caught up
from each store's high-water mark) against a replay of every store (the report as of a date),
over the replay benchmark's stores at a small size. The first live request reads everything
(as a replay does); the figure is a later request's (what a coordinator's page costs once the
audit process has served one). Lower is better."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from mend_audit.reader import AuditReader
from mend_events.app.settings import SERVICES, Settings

from bench.common import Result, Timer, app_pool, median, result
from bench.replay import _EVENTS, _stores

CASES = 2_000
AGENCY = "agency-bench"
RUNS = 5


async def run(settings: Settings) -> list[Result]:
    tag = uuid.uuid4().hex[:6]
    pool = None
    try:
        schemas = await _stores(settings, tag, CASES, "report")
        pool = await app_pool(settings, 2)
        reader = AuditReader(pool, schemas=schemas)
        replays, lives = [], []
        for _ in range(RUNS):
            with Timer() as t:
                replayed = await reader.commissioner_report(AGENCY, as_of=datetime.now(UTC))
            replays.append(t.elapsed * 1000)
        with Timer() as first:
            live = await reader.commissioner_report(AGENCY)
        for _ in range(RUNS):
            with Timer() as t:
                live = await reader.commissioner_report(AGENCY)
            lives.append(t.elapsed * 1000)
        assert live["tables"] == replayed["tables"], "the live report differs from a replay"
    finally:
        if pool is not None:
            await pool.close()
        conn = await asyncpg.connect(settings.admin_database_url)
        for schema in [*(f"bench_report_{s}_{tag}" for s in SERVICES), f"bench_report_audit_{tag}"]:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    note = (
        f"{CASES:,} cases x {len(_EVENTS)} events over the stores; median of {RUNS} requests "
        f"each; the first live request (everything read once) took {first.elapsed * 1000:.0f} "
        f"ms; no events appended between requests"
    )
    return [
        result(
            "report.live",
            median(lives),
            "ms",
            "replay of every store per request",
            median(replays),
            lower_is_better=True,
            note=note,
        )
    ]
