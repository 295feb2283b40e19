"""Cost as the store grows (issue 22): stores of 10k, 1M and 10M events, each loaded by COPY
with the real per-stream hash chains (bench/common.copy_events, as the rebuild suite loads),
and at each size:

- command p99: one case's command as the store serves it (read its stream, append one event
  at the version read), on random existing cases, one at a time;
- append throughput: 16 writers appending to existing cases;
- history replay: one case's whole history read and every event's data parsed (p99);
- as-of state: one case's stream as recorded by a moment half way through it (p99);
- verify: `mend audit verify`'s chain check (mend_events.store.verify_chain) over the whole
  store, events/s (goal: at least 100k/s);
- case search: the web app's agency-wide GET /search (a coordinator, first 50 rows) with one
  index row per case of the store (size / 20 cases; bench/web.py's fill and pages).

Goal: every figure at the largest size within 1.25x of its figure at the smallest. Sizes:
MEND_BENCH_SCALE_SIZES (comma-separated events, default 10000,1000000,10000000); samples per
latency: MEND_BENCH_SCALE_SAMPLES (default 300). Figures go to bench/results/scale.json and
the plot to bench/results/scale.png (`python -m bench.scale --plot` redraws it from the json).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

from mend_events.app.settings import Settings
from mend_events.store import EventStore, verify_chain

from bench.common import (
    Result,
    Timer,
    app_pool,
    as_admin,
    bench_event,
    copy_events,
    fresh_schema,
    machine,
    percentile,
    result,
)

PER_CASE = 20
CASES_AT_ONCE = 1000
WRITERS = 16
# 8,000 appends in all, a few seconds: 1,600 (half a second) gave 0.5x-1.0x between runs.
APPENDS_PER_WRITER = 500
RESULTS = Path(__file__).parent / "results"
FIGURES = (  # name, unit, lower is better
    ("command_p99", "ms", True),
    ("append", "events/s", False),
    ("history_p99", "ms", True),
    ("as_of_p99", "ms", True),
    ("verify", "events/s", False),
    ("search_p99", "ms", True),
)


def sizes() -> list[int]:
    raw = os.environ.get("MEND_BENCH_SCALE_SIZES", "10000,1000000,10000000")
    return [int(s) for s in raw.split(",") if s.strip()]


async def _cases(store: EventStore) -> list[str]:
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT stream_id FROM {store.schema}.events WHERE stream_version = 1 "
            f"ORDER BY random() LIMIT 2000"
        )
    return [r["stream_id"] for r in rows]


async def command_p99(store: EventStore, cases: list[str], samples: int) -> float:
    times = []
    for case in random.choices(cases, k=samples):
        started = time.perf_counter()
        events = await store.read_stream(case)
        await store.append(case, [bench_event(len(events))], expected_version=len(events))
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 99)


async def append_rate(store: EventStore, cases: list[str], per_writer: int) -> float:
    async def writer(case: str) -> None:
        version = len(await store.read_stream(case))
        for _ in range(per_writer):
            await store.append(case, [bench_event(version)], expected_version=version)
            version += 1

    chosen = random.sample(cases, WRITERS)
    with Timer() as t:
        await asyncio.gather(*(writer(c) for c in chosen))
    return WRITERS * per_writer / t.elapsed


async def history_p99(store: EventStore, cases: list[str], samples: int, as_of: bool) -> float:
    times = []
    for case in random.choices(cases, k=samples):
        moment = None
        if as_of:  # half way through the case's recorded life (not timed)
            first, last = await _span(store, case)
            moment = first + (last - first) / 2
        started = time.perf_counter()
        events = await store.read_stream(case, as_of=moment)
        for e in events:
            e.data  # noqa: B018 - parsing is part of a replay
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 99)


async def _span(store: EventStore, case: str):
    async with store.io_pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT min(recorded_at) AS a, max(recorded_at) AS b FROM {store.schema}.events "
            f"WHERE stream_id = $1",
            case,
        )
    return row["a"], row["b"]


async def verify_rate(settings: Settings, store: EventStore, workers: int) -> float:
    """As `mend audit verify` checks a store's chains: one worker process per CPU by default."""
    async with store.pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM {store.schema}.events")
    with Timer() as t:
        breaks = await verify_chain(
            store.pool, store.schema, dsn=settings.database_url, workers=workers
        )
    assert breaks == [], breaks[:3]
    return total / t.elapsed


async def search_p99(settings: Settings, cases: int, samples: int) -> float:
    """The web app's agency-wide search over an index of `cases` cases (bench/web.py)."""
    import uuid

    import asyncpg
    import httpx
    from mend_events.store.migrate import migrate_schema
    from mend_web.app import build
    from mend_web.services import Services
    from mend_web.settings import WebSettings

    from bench.common import page_latencies
    from bench.web import _session, fill

    schema = f"bench_scale_web_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, schema, "web")
    finally:
        await conn.close()
    web = WebSettings(production=False, insecure_cookies=True)
    app = build(web, platform=settings, schema=schema, services=Services({}), index_feed=False)
    try:
        async with app.router.lifespan_context(app):
            await fill(app.state.index.pool, schema, cases)
            coord = await _session(app, "coordinator", "coord-bench1")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await page_latencies(client, "/search", coord, 20)  # warm
                return percentile(await page_latencies(client, "/search", coord, samples), 99)
    finally:
        conn = await asyncpg.connect(settings.admin_database_url)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


async def measure(settings: Settings, size: int, samples: int) -> dict[str, float]:
    async with fresh_schema(settings, "scale") as schema:
        with Timer() as loading:
            at_once = min(CASES_AT_ONCE, size // PER_CASE)
            await copy_events(settings, schema, size, at_once, PER_CASE)
            # A store that grew over months is vacuumed (its visibility map set, so key
            # lookups stay index-only) and its WAL checkpointed; a store just COPYed is
            # neither, and the minutes after the load would measure that.
            await as_admin(settings, f"VACUUM (ANALYZE) {schema}.events")
            await as_admin(settings, "CHECKPOINT")
        pool = await app_pool(settings, 4)
        store = EventStore(pool, schema)
        try:
            cases = await _cases(store)
            figures = {
                "command_p99": await command_p99(store, cases, samples),
                "append": await append_rate(store, cases, APPENDS_PER_WRITER),
                "history_p99": await history_p99(store, cases, samples, as_of=False),
                "as_of_p99": await history_p99(store, cases, samples, as_of=True),
                "verify": await verify_rate(settings, store, os.cpu_count() or 1),
            }
        finally:
            await store.close()
            await pool.close()
    figures["search_p99"] = await search_p99(settings, max(1, size // PER_CASE), samples)
    figures["load_seconds"] = loading.elapsed
    return figures


def plot(data: dict[str, object]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_size: dict[str, dict[str, float]] = data["sizes"]  # type: ignore[assignment]
    xs = sorted(int(s) for s in by_size)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (name, unit, _) in zip(axes.flat, FIGURES, strict=True):
        ax.plot(xs, [by_size[str(x)][name] for x in xs], marker="o")
        ax.set_xscale("log")
        ax.set_title(name)
        ax.set_xlabel("events in the store")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Cost against store size ({data['machine']})", fontsize=10)
    fig.tight_layout()
    out = RESULTS / "scale.png"
    fig.savefig(out, dpi=90)
    return out


async def run(settings: Settings) -> list[Result]:
    samples = int(os.environ.get("MEND_BENCH_SCALE_SAMPLES", "300"))
    chosen = sizes()
    by_size = {}
    for size in chosen:
        figures: dict[str, object] = {**await measure(settings, size, samples)}
        figures["machine"] = machine()  # each size's own: the load moves during a long run
        by_size[str(size)] = figures
        print(f"# scale {size:,}: {figures}", file=sys.stderr)
    data = {"machine": machine(), "samples": samples, "sizes": by_size}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(data, indent=2) + "\n")
    plot(data)
    small, large = by_size[str(min(chosen))], by_size[str(max(chosen))]
    note = f"{max(chosen):,} events against {min(chosen):,}; {machine()}"
    return [
        result(f"scale.{name}", large[name], unit, f"same at {min(chosen):,} events",
               small[name], lower_is_better=lower, note=note)
        for name, unit, lower in FIGURES
    ]  # fmt: skip


if __name__ == "__main__":  # python -m bench.scale [--plot]
    if sys.argv[1:] == ["--plot"]:
        print(plot(json.loads((RESULTS / "scale.json").read_text())))
    else:
        import uvloop

        from bench.__main__ import table

        print(table(uvloop.run(run(Settings.from_env()))))
