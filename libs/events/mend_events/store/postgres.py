"""The event store of one service on PostgreSQL (sql/events.sql, sql/append_batch.sql): the
reads of `StoreReader` and the appends of a `GroupCommitWriter`."""

from __future__ import annotations

from typing import Any

import asyncpg

from mend_events.store.chain import ChainBreak, verify_chain
from mend_events.store.reader import StoreReader
from mend_events.store.results import Appender, AppendRequest, AppendResult
from mend_events.store.writer import GroupCommitWriter


class EventStore(StoreReader, Appender):
    """Append and read one service's events. One instance per process and schema."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        *,
        service: str = "",
        max_batch: int = 512,
        sealer: Any = None,
        head_cache_size: int = 100_000,
        io_pool: asyncpg.Pool | None = None,
    ) -> None:
        # The store's own connections (appends, stream reads): each is taken for a statement
        # or a batch and never held while waiting for another, so a caller that holds a
        # connection of `pool` (a request in its transaction, a reaction in its inbox
        # transaction) always gets its read or append through, however busy `pool` is.
        super().__init__(pool, schema, service or schema, io_pool or pool, head_cache_size)
        self.max_batch = max_batch
        self.sealer = sealer
        self._writer = GroupCommitWriter(
            self.io_pool,
            schema,
            max_batch=max_batch,
            head_cache_size=head_cache_size,
            on_new_stream=self.remember_agency,
            service=self.service,
        )

    async def _write(self, request: AppendRequest) -> AppendResult:
        return await self._writer.submit(request)

    async def close(self) -> None:
        await self._writer.close()

    async def verify(self) -> list[ChainBreak]:
        """Recompute every stream's hash chain from the stored columns; list each break."""
        return await verify_chain(self.pool, self.schema)
