"""Projections over a service's own events table.

A projection's rows and its tracking position are written in one transaction, so after a
crash it resumes exactly where its rows stop. Rebuild = reset the rows and replay from the
store with every side effect off (a projection has none: it only writes its own rows).

A projection that is `Staged` rebuilds faster: each page goes into a session's temporary
staging table (COPY or one INSERT of arrays: no index, no conflict to resolve), and one
transaction at the end resets the rows, merges the staging table into them set-based and moves
the tracking position. The old rows stay in place, whole, until that transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import asyncpg

from mend_events.app.db import DATABASE_FAULTS
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store import EventStore


class Projection(Protocol):
    name: str

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        """Write the rows these events imply (inside the runner's transaction)."""

    async def reset(self, conn: asyncpg.Connection) -> None:
        """Delete every row of this projection (inside the runner's transaction)."""


@runtime_checkable
class Staged(Protocol):
    """A projection that rebuilds through a staging table (see the module's docstring)."""

    async def stage_begin(self, conn: asyncpg.Connection) -> None:
        """Create the empty temporary staging table(s) on `conn` (this session only)."""

    async def stage(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        """Add what these events imply to the staging table(s)."""

    async def stage_merge(self, conn: asyncpg.Connection) -> None:
        """Write the projection's (just reset) rows from the staging table(s), set-based."""

    async def stage_end(self, conn: asyncpg.Connection) -> None:
        """Drop the staging table(s)."""


class OwnTables:
    """A projection over tables of its own in `schema` (`tables`): a reset deletes their rows.
    The services' read models build on it, so a rebuild empties exactly what `apply` fills."""

    tables: ClassVar[tuple[str, ...]]

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def reset(self, conn: asyncpg.Connection) -> None:
        for table in self.tables:
            await conn.execute(f"DELETE FROM {self.schema}.{table}")


class ProjectionRunner:
    def __init__(
        self,
        store: EventStore,
        projection: Projection,
        *,
        batch_size: int = 5000,
        poll_interval: float = 0.5,
    ) -> None:
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def position(self) -> int:
        async with self.store.pool.acquire() as conn:
            value = await conn.fetchval(
                f"SELECT position FROM {self.store.schema}.projection_tracking "
                f"WHERE projection = $1",
                self.projection.name,
            )
        return int(value or 0)

    async def catch_up(self) -> int:
        """Apply everything recorded so far; returns how many events were applied.

        While one batch is applied, the next is read on another connection (read-ahead): the
        database writes the rows while this process decodes the next page. A page read ahead
        is used only if the tracking position, under its lock, is still where the page starts;
        events are immutable and appended in commit order, so it is then what a read under the
        lock would return."""
        applied = 0
        ahead: asyncio.Task[tuple[int, list[RecordedEvent]]] | None = None
        try:
            while True:
                n, ahead = await self._step(ahead)
                applied += n
                if n == 0:
                    return applied
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead

    async def _read_ahead(self, position: int) -> tuple[int, list[RecordedEvent]]:
        return position, await self.store.read_all(position, self.batch_size)

    async def _step(
        self, ahead: asyncio.Task[tuple[int, list[RecordedEvent]]] | None
    ) -> tuple[int, asyncio.Task[tuple[int, list[RecordedEvent]]] | None]:
        # Awaited before taking a connection, so a pool of one cannot deadlock.
        read = await ahead if ahead is not None else None
        schema = self.store.schema
        ahead = None
        try:
            async with self.store.pool.acquire() as conn, conn.transaction():
                # The row lock makes replicas of one projection take turns, never double-apply.
                lock = (
                    f"SELECT position FROM {schema}.projection_tracking WHERE projection = $1 "
                    f"FOR UPDATE"
                )
                position = await conn.fetchval(lock, self.projection.name)
                if position is None:  # the first step ever (or after a reset that dropped it)
                    await conn.execute(
                        f"INSERT INTO {schema}.projection_tracking (projection, position) "
                        f"VALUES ($1, 0) ON CONFLICT DO NOTHING",
                        self.projection.name,
                    )
                    position = await conn.fetchval(lock, self.projection.name)
                if read is not None and read[0] == position and read[1]:
                    events = read[1]
                else:
                    events = await self.store.read_all(position, self.batch_size, conn=conn)
                if not events:
                    return 0, None
                # A full page: there is probably more; read it while this one is applied.
                if len(events) == self.batch_size:
                    ahead = asyncio.create_task(self._read_ahead(events[-1].global_position))
                await self.projection.apply(conn, events)
                await conn.execute(
                    f"UPDATE {schema}.projection_tracking SET position = $2, updated_at = now() "
                    f"WHERE projection = $1",
                    self.projection.name,
                    events[-1].global_position,
                )
            return len(events), ahead
        except BaseException:
            if ahead is not None:
                ahead.cancel()
            raise

    async def rebuild(self) -> int:
        if isinstance(self.projection, Staged):
            return await self._rebuild_staged(self.projection)
        async with self.store.pool.acquire() as conn, conn.transaction():
            await self.projection.reset(conn)
            await conn.execute(
                f"INSERT INTO {self.store.schema}.projection_tracking (projection, position) "
                f"VALUES ($1, 0) ON CONFLICT (projection) DO UPDATE SET position = 0, "
                f"updated_at = now()",
                self.projection.name,
            )
        return await self.catch_up()

    async def _rebuild_staged(self, projection: Staged) -> int:
        """Stage every stored event page by page (the next page read meanwhile on another
        connection), then swap the rows in one transaction; what was appended since is
        applied by the ordinary catch-up."""
        schema, name = self.store.schema, self.projection.name
        staged = last = 0
        async with self.store.pool.acquire() as conn:
            await projection.stage_begin(conn)
            try:
                page = await self.store.read_all(0, self.batch_size)
                while page:
                    ahead = None
                    if len(page) == self.batch_size:
                        ahead = asyncio.create_task(self._read_ahead(page[-1].global_position))
                    try:
                        await projection.stage(conn, page)
                    except BaseException:
                        if ahead is not None:
                            ahead.cancel()
                        raise
                    staged += len(page)
                    last = page[-1].global_position
                    page = (await ahead)[1] if ahead is not None else []
                async with conn.transaction():
                    # The tracking row's lock keeps a replica's catch-up out until the swap.
                    await conn.execute(
                        f"INSERT INTO {schema}.projection_tracking (projection, position) "
                        f"VALUES ($1, 0) ON CONFLICT DO NOTHING",
                        name,
                    )
                    await conn.fetchval(
                        f"SELECT position FROM {schema}.projection_tracking "
                        f"WHERE projection = $1 FOR UPDATE",
                        name,
                    )
                    await self.projection.reset(conn)
                    await projection.stage_merge(conn)
                    await conn.execute(
                        f"UPDATE {schema}.projection_tracking SET position = $2, "
                        f"updated_at = now() WHERE projection = $1",
                        name,
                        last,
                    )
            finally:
                await projection.stage_end(conn)
        return staged + await self.catch_up()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Follow the store until stopped; a notify from an append wakes it early."""
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.catch_up()
            except DATABASE_FAULTS:
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
