"""Projections over a service's own events table.

A projection's rows and its tracking position are written in one transaction, so after a
crash it resumes exactly where its rows stop. Rebuild = reset the rows and replay from the
store with every side effect off (a projection has none: it only writes its own rows).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import ClassVar, Protocol

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
        async with self.store.pool.acquire() as conn, conn.transaction():
            await self.projection.reset(conn)
            await conn.execute(
                f"INSERT INTO {self.store.schema}.projection_tracking (projection, position) "
                f"VALUES ($1, 0) ON CONFLICT (projection) DO UPDATE SET position = 0, "
                f"updated_at = now()",
                self.projection.name,
            )
        return await self.catch_up()

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
