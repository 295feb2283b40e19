"""The inbox of a consumer: its exactly-once effect. Each event's inbox row, the handler's
effects and the consumer's position commit in one PostgreSQL transaction (the caller's); an
event already in the inbox changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from mend_events.contracts.envelope import RecordedEvent

Handler = Callable[[asyncpg.Connection, RecordedEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a consumer stands: the message at `offset` of `topic`/`partition` is applied."""

    consumer: str
    topic: str
    partition: int
    offset: int


# Called inside the inbox transaction with the last message applied (fresh or a duplicate) of
# each partition in it, so what it writes with `conn` commits exactly with the handlers'
# effects; positions only grow. Not called for a message that went to the dead-letter topic.
PositionHook = Callable[[asyncpg.Connection, Position], Awaitable[None]]


def position_of(consumer: str, raw: Any) -> Position:
    return Position(consumer, raw.topic, raw.partition, raw.offset)


def _ids_bound(event: RecordedEvent) -> contextlib.AbstractContextManager[Any]:
    """The logs of a handler carry the message's correlation id (its request's, across every
    service) and, as causation, the event it handles: as HTTP requests bind theirs."""
    return structlog.contextvars.bound_contextvars(
        correlation_id=str(event.metadata.correlation_id), causation_id=str(event.event_id)
    )


class Inbox:
    """One consumer's inbox in `schema`: what it applies (`handler`) and where it records its
    positions (`on_position`), on the caller's transaction."""

    def __init__(
        self, schema: str, consumer: str, handler: Handler, on_position: PositionHook | None
    ) -> None:
        self.schema, self.consumer = schema, consumer
        self.handler, self.on_position = handler, on_position

    async def apply_batch(
        self, conn: asyncpg.Connection, parsed: list[tuple[Any, RecordedEvent]]
    ) -> int:
        """A batch's inbox rows in one statement, then the handlers of the fresh ones in order,
        then the positions; returns how many were absorbed as already applied."""
        rows = await conn.fetch(
            f"INSERT INTO {self.schema}.inbox (consumer, event_id, source) "
            f"SELECT $1, e.id, e.source FROM unnest($2::uuid[], $3::text[]) AS e(id, source) "
            f"ON CONFLICT DO NOTHING RETURNING event_id",
            self.consumer,
            [event.event_id for _, event in parsed],
            [event.service for _, event in parsed],
        )
        fresh = {row[0] for row in rows}
        duplicates = len(parsed) - len(fresh)
        last: dict[tuple[str, int], Any] = {}
        for raw, event in parsed:
            if event.event_id in fresh:
                fresh.discard(event.event_id)  # the same event twice in a batch: once
                with _ids_bound(event):
                    await self.handler(conn, event)
            last[(raw.topic, raw.partition)] = raw
        if self.on_position is not None:
            for raw in last.values():
                await self.on_position(conn, position_of(self.consumer, raw))
        return duplicates

    async def apply_one(
        self, conn: asyncpg.Connection, event: RecordedEvent, position: Position
    ) -> int:
        """The inbox row, the handler's effects and the position; 1 if it was applied before."""
        fresh = await conn.fetchval(
            f"INSERT INTO {self.schema}.inbox (consumer, event_id, source) "
            f"VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            self.consumer,
            event.event_id,
            event.service,
        )
        if fresh:
            with _ids_bound(event):
                await self.handler(conn, event)
        if self.on_position is not None:
            await self.on_position(conn, position)
        return 0 if fresh else 1
