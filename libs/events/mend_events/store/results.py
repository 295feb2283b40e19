"""What every event store takes and answers, whatever holds the events (PostgreSQL or memory)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from mend_events.contracts.envelope import NewEvent
from mend_events.errors import Conflict, Rejected

# An event as the store writes it: id, type, schema version, data (sealed), metadata.
Row = tuple[UUID, str, int, dict[str, Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    version: int  # the stream's version after the append
    positions: tuple[int, ...]  # global positions of the written events (existing ones on a retry)
    recorded_at: datetime | None
    written: bool  # False when a retry found every event already stored


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """An idempotency key (as a uuid, never its text) and a digest of the request it came with."""

    key_id: UUID
    request: str


class KeyReused(Rejected):
    """An idempotency key sent again with another request (body, route or case)."""

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was used for another request; send a new key",
            field="Idempotency-Key",
        )


@dataclass(slots=True)
class AppendRequest:
    """One caller's append, waiting for its batch."""

    stream_id: str
    case_id: str
    expected_version: int
    rows: list[Row]
    future: asyncio.Future[AppendResult] = field(repr=False)
    retried: bool = False
    key: KeyBinding | None = None


def conflict(stream_id: str, current: int | None, expected: int) -> Conflict:
    return Conflict(
        f"stream {stream_id} is at version {current}, not the expected {expected}",
        field="expected_version",
    )


def ids_used_elsewhere() -> Conflict:
    return Conflict("event ids already used by other events", field="event_id")


class Appender:
    """The append every store offers: events become rows (personal fields sealed when the store
    has a sealer), which the store writes in `_write`."""

    sealer: Any = None

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        case_id: str | None = None,
        key: KeyBinding | None = None,
    ) -> AppendResult:
        """Append `events` if the stream is at `expected_version`; raise Conflict otherwise.
        Retrying with the same event ids after an unknown outcome writes nothing new. With
        `key`, the key is bound to this request first; a key bound to another request is
        `KeyReused`, and nothing is written."""
        if not events:
            return AppendResult(stream_id, expected_version, (), None, False)
        rows = await rows_of(stream_id, events, self.sealer)
        future = asyncio.get_running_loop().create_future()
        return await self._write(
            AppendRequest(stream_id, case_id or stream_id, expected_version, rows, future, key=key)
        )

    async def _write(self, request: AppendRequest) -> AppendResult:
        raise NotImplementedError


async def rows_of(stream_id: str, events: Sequence[NewEvent], sealer: Any) -> list[Row]:
    """The rows to write for `events`, personal fields sealed when the store has a sealer."""
    rows = []
    for new in events:
        data = new.event.to_data()
        if sealer is not None and new.event.personal_fields:
            data = await sealer.seal_event_data(
                new.event,
                data,
                agency=new.metadata.agency,
                stream_id=stream_id,
                event_id=new.event_id,
                actor_id=new.metadata.actor_id,
            )
        rows.append(
            (
                new.event_id,
                new.event.event_type,
                new.event.schema_version,
                data,
                new.metadata.to_json(),
            )
        )
    return rows
