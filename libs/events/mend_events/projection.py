"""Projections over a service's own events table.

A projection's rows and its tracking position are written in one transaction, so after a
crash it resumes exactly where its rows stop. Rebuild = reset the rows and replay from the
store with every side effect off (a projection has none: it only writes its own rows).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import asyncpg

from mend_events.envelope import RecordedEvent
from mend_events.store import EventStore


class Projection(Protocol):
    name: str

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        """Write the rows these events imply (inside the runner's transaction)."""

    async def reset(self, conn: asyncpg.Connection) -> None:
        """Delete every row of this projection (inside the runner's transaction)."""


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
        """Apply everything recorded so far; returns how many events were applied."""
        applied = 0
        while True:
            n = await self._step()
            applied += n
            if n == 0:
                return applied

    async def _step(self) -> int:
        schema = self.store.schema
        async with self.store.pool.acquire() as conn, conn.transaction():
            # The row lock makes replicas of one projection take turns, never double-apply.
            await conn.execute(
                f"INSERT INTO {schema}.projection_tracking (projection, position) VALUES ($1, 0) "
                f"ON CONFLICT DO NOTHING",
                self.projection.name,
            )
            position = await conn.fetchval(
                f"SELECT position FROM {schema}.projection_tracking WHERE projection = $1 "
                f"FOR UPDATE",
                self.projection.name,
            )
            events = await self.store.read_all(position, self.batch_size, conn=conn)
            if not events:
                return 0
            await self.projection.apply(conn, events)
            await conn.execute(
                f"UPDATE {schema}.projection_tracking SET position = $2, updated_at = now() "
                f"WHERE projection = $1",
                self.projection.name,
                events[-1].global_position,
            )
            return len(events)

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
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
