"""A staged rebuild (store/projection.py `Staged`: COPY into a staging table, one set-based
merge and swap) gives exactly the rows the incremental path gives, on the real database."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store import EventStore
from mend_events.store.projection import ProjectionRunner, Staged
from sample_events import noted


class Summary:
    """Per case: how many events, the last event's version, and the sum of `n`."""

    def __init__(self, schema: str, table: str) -> None:
        self.schema, self.table, self.name = schema, table, f"summary_{table}"

    @staticmethod
    def fold(events: Sequence[RecordedEvent]) -> dict[str, list]:
        seen: dict[str, list] = {}
        for e in events:
            row = seen.setdefault(e.case_id, [0, 0, 0, 0])
            row[0] += 1
            row[1] = e.stream_version
            row[2] += e.data["n"]
            row[3] = e.global_position
        return seen

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        seen = self.fold(events)
        await conn.execute(
            f"INSERT INTO {self.schema}.{self.table} AS s (case_id, events, last_version, "
            f"total, last_position) SELECT * FROM unnest($1::text[], $2::int[], $3::int[], "
            f"$4::int[], $5::bigint[]) ON CONFLICT (case_id) DO UPDATE SET "
            f"events = s.events + EXCLUDED.events, last_version = EXCLUDED.last_version, "
            f"total = s.total + EXCLUDED.total, last_position = EXCLUDED.last_position",
            list(seen),
            *zip(*seen.values(), strict=True),
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"DELETE FROM {self.schema}.{self.table}")


class StagedSummary(Summary):
    async def stage_begin(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "CREATE TEMPORARY TABLE summary_stage (case_id text, events int, last_version int, "
            "total int, last_position bigint)"
        )

    async def stage(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        rows = [(case, *row) for case, row in self.fold(events).items()]
        await conn.copy_records_to_table("summary_stage", records=rows)

    async def stage_merge(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.{self.table} (case_id, events, last_version, total, "
            f"last_position) SELECT case_id, sum(events), max(last_version), sum(total), "
            f"max(last_position) FROM summary_stage GROUP BY case_id"
        )

    async def stage_end(self, conn: asyncpg.Connection) -> None:
        await conn.execute("DROP TABLE IF EXISTS summary_stage")


async def test_staged_rebuild_equals_the_incremental_path(app_pool, admin_conn, schema):
    for table in ("incremental", "staged"):
        await admin_conn.execute(
            f"CREATE TABLE {schema}.{table} (case_id text PRIMARY KEY, events int NOT NULL, "
            f"last_version int NOT NULL, total int NOT NULL, last_position bigint NOT NULL); "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{table} TO mend_app"
        )
    store = EventStore(app_pool, schema)
    # Cases interleaved so that each spans several pages of 7 events.
    for round_ in range(6):
        for case in range(9):
            await store.append(
                f"case-st{case}", [noted(case * 10 + round_)], expected_version=round_
            )
    incremental = ProjectionRunner(store, Summary(schema, "incremental"), batch_size=7)
    staged_projection = StagedSummary(schema, "staged")
    assert isinstance(staged_projection, Staged)
    staged = ProjectionRunner(store, staged_projection, batch_size=7)
    assert await incremental.catch_up() == 54
    # Rows from an earlier build are replaced, not added to.
    assert await staged.catch_up() == 54
    assert await staged.rebuild() == 54
    for case in range(9):  # after the rebuild, the incremental path carries on from its position
        await store.append(f"case-st{case}", [noted(100 + case)], expected_version=6)
    await store.append("case-st-new", [noted(7)], expected_version=0)
    assert await incremental.catch_up() == 10
    assert await staged.catch_up() == 10
    query = "SELECT case_id, events, last_version, total, last_position FROM {}.{} ORDER BY 1"
    async with app_pool.acquire() as conn:
        one = [tuple(r) for r in await conn.fetch(query.format(schema, "incremental"))]
        two = [tuple(r) for r in await conn.fetch(query.format(schema, "staged"))]
        assert await conn.fetchval("SELECT to_regclass('pg_temp.summary_stage')") is None
    assert one == two and len(one) == 10
    assert dict((r[0], r[1:4]) for r in one)["case-st0"] == (7, 7, 0 + 1 + 2 + 3 + 4 + 5 + 100)
    assert await staged.position() == await incremental.position()
