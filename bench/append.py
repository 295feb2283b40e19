"""Gap-free append at 1, 4 and 16 concurrent writers, against raw asyncpg single-row inserts of
the same payload (no lock, no hash chain, no version check) on the same database."""

from __future__ import annotations

import asyncio

from mend_events.app.settings import Settings
from mend_events.store import EventStore

from bench.common import Result, Timer, app_pool, bench_event, fresh_schema, result

EVENTS = {1: 2000, 4: 6000, 16: 16000}


async def raw_inserts(settings: Settings, schema: str, writers: int, total: int) -> float:
    pool = await app_pool(settings, writers)
    per = total // writers
    sql = (
        f"INSERT INTO {schema}.raw_events (stream_id, stream_version, event_id, event_type, "
        f"data, metadata) VALUES ($1, $2, $3, $4, $5, $6)"
    )

    async def writer(w: int) -> None:
        stream = f"case-raw{w:04d}"
        async with pool.acquire() as conn:
            for v in range(per):
                e = bench_event(v)
                await conn.execute(
                    sql,
                    stream,
                    v + 1,
                    e.event_id,
                    e.event_type,
                    e.event.to_data(),
                    e.metadata.to_json(),
                )

    with Timer() as t:
        await asyncio.gather(*(writer(w) for w in range(writers)))
    await pool.close()
    return per * writers / t.elapsed


async def store_appends(settings: Settings, schema: str, writers: int, total: int) -> float:
    pool = await app_pool(settings, 4)
    store = EventStore(pool, schema)
    per = total // writers

    async def writer(w: int) -> None:
        stream = f"case-st{w:04d}"
        for v in range(per):
            await store.append(stream, [bench_event(v)], expected_version=v)

    with Timer() as t:
        await asyncio.gather(*(writer(w) for w in range(writers)))
    await store.close()
    await pool.close()
    return per * writers / t.elapsed


async def run(settings: Settings) -> list[Result]:
    results = []
    for writers, total in EVENTS.items():
        async with fresh_schema(settings, "append") as schema:
            await _raw_table(settings, schema)
            raw = await raw_inserts(settings, schema, writers, total)
            ours = await store_appends(settings, schema, writers, total)
        results.append(
            result(
                f"append.w{writers}",
                ours,
                "events/s",
                f"raw asyncpg single-row insert x{writers}",
                raw,
            )
        )
    return results


async def _raw_table(settings: Settings, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(settings.admin_database_url)
    await conn.execute(
        f"CREATE TABLE {schema}.raw_events (global_position bigint GENERATED ALWAYS AS "
        f"IDENTITY PRIMARY KEY, stream_id text NOT NULL, stream_version int NOT NULL, "
        f"event_id uuid NOT NULL UNIQUE, event_type text NOT NULL, data jsonb NOT NULL, "
        f"metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), "
        f"UNIQUE (stream_id, stream_version))"
    )
    await conn.execute(f"GRANT INSERT, SELECT ON {schema}.raw_events TO mend_app")
    await conn.close()
