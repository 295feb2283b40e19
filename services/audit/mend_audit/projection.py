"""The stored case-history projection: `<audit schema>.case_history`, one row per event of every
service, with each source store's position tracked in the same transaction as the rows.

It reads the four stores (SELECT only) and writes only its own table: no side effects, so a
rebuild is a truncate and a replay. Each row is a function of its event alone (`entries.row_of`),
so the live projection, fed a batch at a time as events arrive, and a rebuild from scratch hold
identical rows. The timeline order and the cause links are computed when reading
(`history.CaseHistory`), never stored, for the same reason.

The schema is created by the shared migration runner with this package's scripts:
`python -m mend_events.store.migrate audit` (or `mend audit migrate`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import asyncpg
from mend_events.app.db import DATABASE_FAULTS
from mend_events.errors import Unavailable
from mend_events.store.migrate import migrate_schema

from mend_audit.entries import COLUMNS, Entry, entry_from_row
from mend_audit.projection_rows import insert_sql, prepare_page
from mend_audit.replay import Schemas, fetch_rows, guard_store, select_schemas, service_rank

PROJECTION = "case_history"
AUDIT_SCHEMA = "audit"


async def migrate(conn: asyncpg.Connection, schema: str = AUDIT_SCHEMA) -> list[str]:
    """Create or update the audit schema (an admin connection); returns the scripts applied."""
    return await migrate_schema(conn, schema, "audit")


class CaseHistoryProjection:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schemas: Schemas | None = None,
        audit_schema: str = AUDIT_SCHEMA,
        batch_size: int = 5000,
    ) -> None:
        self.pool = pool
        self.sources = select_schemas(schemas)
        self.schema = audit_schema
        self.batch_size = batch_size
        self._stopping = asyncio.Event()

    def tracking_name(self, service: str) -> str:
        return f"{PROJECTION}:{service}:{self.sources[service]}"

    # --- writing ------------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Apply what the stores recorded since the tracked positions; returns how many events.
        The four stores are followed side by side (one connection each, as the pool allows):
        each batch writes its rows and its store's position in one transaction."""
        counts = await asyncio.gather(*(self._follow(service) for service in self.sources))
        return sum(counts)

    async def _follow(self, service: str) -> int:
        applied = 0
        while True:
            n = await self._step(service)
            applied += n
            if n == 0:
                return applied

    async def _step(self, service: str) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock(conn, service)
            position = (await self._positions(conn)).get(service, 0)
            n, last = await self._apply(conn, service, position)
            if n:
                await self._track(conn, service, last)
            return n

    async def _lock(self, conn: asyncpg.Connection, service: str) -> None:
        # One writer per store and audit schema at a time; the lock ends with the transaction.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            f"{self.schema}:{self.tracking_name(service)}",
        )

    async def rebuild(self) -> int:
        """Truncate and replay every store from the start, in one transaction: readers of the
        table see the old rows or the new ones, never half of each. With a second connection
        to spare, the stores are read on it through server-side cursors in one read-only
        REPEATABLE READ transaction (one moment of the whole platform), a page ahead: the
        next page is on its way while this one is summarised and the previous one inserted."""
        total = 0
        async with contextlib.AsyncExitStack() as stack:
            conn = await stack.enter_async_context(self.pool.acquire())
            reader = conn
            if self.pool.get_max_size() > 1:
                reader = await stack.enter_async_context(self.pool.acquire())
            await stack.enter_async_context(conn.transaction())
            for service in self.sources:
                await self._lock(conn, service)
            await self._guard(conn.execute(f"TRUNCATE {self.schema}.case_history"))
            await conn.execute(
                f"DELETE FROM {self.schema}.projection_tracking WHERE projection LIKE $1",
                f"{PROJECTION}:%",
            )
            if reader is not conn:
                await stack.enter_async_context(
                    reader.transaction(isolation="repeatable_read", readonly=True)
                )
            for service in self.sources:
                n, position = await self._replay_store(conn, reader, service)
                await self._track(conn, service, position)
                total += n
        return total

    async def _replay_store(
        self, conn: asyncpg.Connection, reader: asyncpg.Connection, service: str
    ) -> tuple[int, int]:
        """Every event of one store into the projection. On a separate `reader` the next page
        is fetched, and this one inserted, while Python summarises; on one connection the
        three take turns."""
        schema = self.sources[service]
        cursor = await guard_store(
            service,
            schema,
            reader.cursor(
                f"SELECT global_position, event_type, data::text FROM {schema}.events "
                f"ORDER BY global_position"
            ),
        )
        size = self.batch_size
        total, position = 0, 0
        ahead = reader is not conn
        fetching: asyncio.Task[list[Any]] | None = None
        writing: asyncio.Task[None] | None = None
        try:
            rows = await cursor.fetch(size)
            while rows:
                if ahead and len(rows) == size:
                    fetching = asyncio.create_task(cursor.fetch(size))
                batch = prepare_page(rows)
                if writing is not None:
                    await writing
                    writing = None
                total += len(rows)
                position = rows[-1][0]
                if ahead:
                    writing = asyncio.create_task(self._insert(conn, service, batch))
                    # Let the INSERT go out now: when the next page is already here, nothing
                    # below would yield before it has been summarised as well.
                    await asyncio.sleep(0)
                else:
                    await self._insert(conn, service, batch)
                if fetching is not None:
                    rows, fetching = await fetching, None
                elif ahead or len(rows) < size:
                    rows = []
                else:
                    rows = await cursor.fetch(size)
            if writing is not None:
                await writing
        finally:
            for task in (fetching, writing):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
        return total, position

    async def _apply(self, conn: asyncpg.Connection, service: str, after: int) -> tuple[int, int]:
        """Project the next batch of one store: (events applied, last global position)."""
        rows = await self._read(conn, service, after)
        if not rows:
            return 0, after
        await self._insert(conn, service, prepare_page(rows))
        return len(rows), rows[-1][0]

    async def _read(self, conn: asyncpg.Connection, service: str, after: int) -> list[Any]:
        # Only what needs Python crosses the wire: each event's type and data, for its summary
        # (and its facts, where personal content must be withheld). The envelope columns are
        # taken by the database itself, joining the batch back to the store by position.
        schema = self.sources[service]
        return await fetch_rows(
            conn,
            service,
            schema,
            f"SELECT global_position, event_type, data::text FROM {schema}.events "
            f"WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            after,
            self.batch_size,
        )

    async def _insert(
        self,
        conn: asyncpg.Connection,
        service: str,
        batch: tuple[list[int], str, str],
    ) -> None:
        positions, summaries, withheld = batch
        await self._guard(
            conn.execute(
                insert_sql(self.schema, self.sources[service]),
                positions,
                summaries,
                withheld,
                service,
                service_rank(service),
                positions[0],
                positions[-1],
            )
        )

    async def _track(self, conn: asyncpg.Connection, service: str, position: int) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.projection_tracking (projection, position) "
            f"VALUES ($1, $2) ON CONFLICT (projection) DO UPDATE "
            f"SET position = EXCLUDED.position, updated_at = now()",
            self.tracking_name(service),
            position,
        )

    async def _guard(self, work: Any) -> Any:
        try:
            return await work
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            raise Unavailable(
                f"the audit schema {self.schema} is not migrated: run "
                f"`python -m mend_events.store.migrate {self.schema}` or `mend audit migrate`",
                field="audit_schema",
            ) from None

    # --- following ----------------------------------------------------------------------------

    async def run(self, poll_interval: float = 0.5) -> None:
        """Follow the stores until `stop()` (polling: the projection has no side effects)."""
        while not self._stopping.is_set():
            try:
                await self.catch_up()
            except DATABASE_FAULTS:
                pass  # the next poll retries
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=poll_interval)

    def stop(self) -> None:
        self._stopping.set()

    # --- reading ------------------------------------------------------------------------------

    async def positions(self) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            return await self._positions(conn)

    async def _positions(self, conn: asyncpg.Connection) -> dict[str, int]:
        rows = await self._guard(
            conn.fetch(
                f"SELECT projection, position FROM {self.schema}.projection_tracking "
                f"WHERE projection = ANY($1::text[])",
                [self.tracking_name(s) for s in self.sources],
            )
        )
        by_name = {r["projection"]: int(r["position"]) for r in rows}
        return {s: by_name.get(self.tracking_name(s), 0) for s in self.sources}

    async def entries(self, case: str | None = None, as_of: datetime | None = None) -> list[Entry]:
        """Stored entries (of one case, recorded by `as_of`) in replay order."""
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {self.schema}.case_history "
            f"WHERE service = ANY($1::text[]) AND ($2::text IS NULL OR case_id = $2) "
            f"AND ($3::timestamptz IS NULL OR recorded_at <= $3) "
            f"ORDER BY case_id, recorded_at, service_rank, service, global_position"
        )
        async with self.pool.acquire() as conn:
            rows = await self._guard(conn.fetch(sql, list(self.sources), case, as_of))
        return [entry_from_row(r) for r in rows]
