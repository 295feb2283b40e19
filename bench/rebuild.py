"""Projection rebuild over 1,000,000 stored events (ProjectionRunner.rebuild of a per-case
summary) against a raw asyncpg read of the same rows in keyset pages of the same size."""

from __future__ import annotations

import os
from collections.abc import Sequence

import asyncpg
from mend_events.app.settings import Settings
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store import _COLUMNS, EventStore
from mend_events.store.projection import ProjectionRunner

from bench.common import Result, Timer, app_pool, as_admin, copy_events, fresh_schema, result

EVENTS = int(os.environ.get("MEND_BENCH_REBUILD_EVENTS", "1000000"))
CASES_AT_ONCE = 1_000  # cases active together: their events interleave in global order
PER_CASE = 20
PAGE = 5_000  # ProjectionRunner's default batch size


def fold(events: Sequence[RecordedEvent]) -> dict[str, list]:
    """Per case in these events: count, last type, last position."""
    seen: dict[str, list] = {}
    for e in events:
        row = seen.get(e.case_id)
        if row is None:
            seen[e.case_id] = [1, e.event_type, e.global_position]
        else:
            row[0] += 1
            row[1] = e.event_type
            row[2] = e.global_position
    return seen


class CaseSummary:
    """Per case: how many events, the last event's type and position. Upserted once per batch
    when it follows the store; a rebuild stages each page's per-case counts in a temporary
    table and merges them once (mend_events.store.projection.Staged)."""

    name = "bench_case_summary"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def stage_begin(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "CREATE TEMPORARY TABLE case_summary_stage (case_id text, events int, "
            "last_type text, last_position bigint)"
        )

    async def stage(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        # One prepared INSERT of arrays: asyncpg's COPY asks for the table's columns first,
        # a round trip more per page for ~1,000 rows.
        seen = fold(events)
        counts, types, positions = zip(*seen.values(), strict=True)
        await conn.execute(
            "INSERT INTO case_summary_stage SELECT * FROM unnest($1::text[], $2::int[], "
            "$3::text[], $4::bigint[])",
            list(seen),
            counts,
            types,
            positions,
        )

    async def stage_merge(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.case_summary (case_id, events, last_type, "
            f"last_position) SELECT case_id, sum(events), "
            f"(array_agg(last_type ORDER BY last_position DESC))[1], max(last_position) "
            f"FROM case_summary_stage GROUP BY case_id"
        )

    async def stage_end(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DROP TABLE IF EXISTS case_summary_stage")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        seen = fold(events)
        counts, types, positions = zip(*seen.values(), strict=True)
        await conn.execute(
            f"INSERT INTO {self.schema}.case_summary AS s (case_id, events, last_type, "
            f"last_position) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], "
            f"$4::bigint[]) ON CONFLICT (case_id) DO UPDATE SET events = s.events + "
            f"EXCLUDED.events, last_type = EXCLUDED.last_type, "
            f"last_position = EXCLUDED.last_position",
            list(seen),
            counts,
            types,
            positions,
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"DELETE FROM {self.schema}.case_summary")


async def load(settings: Settings, schema: str) -> None:
    await copy_events(settings, schema, EVENTS, CASES_AT_ONCE, PER_CASE)
    await as_admin(
        settings,
        f"CREATE TABLE {schema}.case_summary (case_id text PRIMARY KEY, events int NOT NULL, "
        f"last_type text NOT NULL, last_position bigint NOT NULL); "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.case_summary TO mend_app",
    )


async def raw_read(settings: Settings, schema: str) -> float:
    conn = await asyncpg.connect(settings.database_url)  # no codecs: jsonb stays text
    sql = (
        f"SELECT {_COLUMNS} FROM {schema}.events WHERE global_position > $1 "
        f"ORDER BY global_position LIMIT $2"
    )
    position, n = 0, 0
    with Timer() as t:
        while rows := await conn.fetch(sql, position, PAGE):
            position = rows[-1]["global_position"]
            n += len(rows)
    await conn.close()
    assert n == EVENTS
    return n / t.elapsed


async def rebuild(settings: Settings, schema: str) -> float:
    pool = await app_pool(settings, 2)
    store = EventStore(pool, schema)
    runner = ProjectionRunner(store, CaseSummary(schema), batch_size=PAGE)
    with Timer() as t:
        n = await runner.rebuild()
    total = await pool.fetchval(f"SELECT sum(events) FROM {schema}.case_summary")
    await pool.close()
    assert n == EVENTS and total == EVENTS, (n, total)
    return n / t.elapsed


async def run(settings: Settings) -> list[Result]:
    async with fresh_schema(settings, "rebuild") as schema:
        with Timer() as loading:
            await load(settings, schema)
        raw = await raw_read(settings, schema)
        ours = await rebuild(settings, schema)
    note = (
        f"{EVENTS:,} BenchNoted events ({EVENTS // PER_CASE:,} cases x {PER_CASE}, "
        f"{CASES_AT_ONCE} cases interleaved at a time), loaded by COPY as admin in "
        f"{loading.elapsed:.0f}s with the real per-stream hash chain; projection: per-case "
        f"count, last type and position; the rebuild stages each {PAGE}-event page's per-case "
        f"counts into a temporary table (one INSERT of arrays) and merges them in one "
        f"statement and transaction at the end (store.projection.Staged), pool of 2 (the "
        f"runner reads the next page ahead on the second); raw: one connection, same "
        f"columns, keyset pages of {PAGE}, jsonb left as text by asyncpg's default codec"
    )
    return [
        result(
            "rebuild.1m" if EVENTS == 1_000_000 else f"rebuild.{EVENTS}",
            ours,
            "events/s",
            "raw asyncpg keyset read",
            raw,
            note=note,
        )
    ]
