"""An event store in memory, for fast unit tests of command handling and reactions.

It answers as `EventStore` does (tests/test_store_contract.py runs the same tests against
both): versions and conflicts, retries with the same event ids, idempotency keys, the hash
chain, reads by stream, by global position and as of a moment. It holds one process's events
for its lifetime and has no group commit, relay wake-up or privileges: never a production store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mend_events.contracts.envelope import RecordedEvent
from mend_events.store.chain import ZERO_HASH, ChainBreak, canonical_json, link, micros
from mend_events.store.results import (
    Appender,
    AppendRequest,
    AppendResult,
    KeyReused,
    conflict,
    ids_used_elsewhere,
)


class InMemoryEventStore(Appender):
    """Append and read events held in this process. `pool` is None: there is no database."""

    pool = None

    def __init__(self, schema: str = "memory", *, service: str = "", sealer: Any = None) -> None:
        self.schema = schema
        self.service = service or schema
        self.sealer = sealer
        self._events: list[RecordedEvent] = []  # in global order; position = index + 1
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[UUID, RecordedEvent] = {}
        self._keys: dict[UUID, tuple[str, str, int]] = {}

    async def _write(self, request: AppendRequest) -> AppendResult:
        stream_id, case_id, key = request.stream_id, request.case_id, request.key
        expected_version, rows = request.expected_version, request.rows
        # Nothing here awaits: each append is decided and written at once, as under a lock.
        if key is not None:
            bound = self._keys.setdefault(key.key_id, (stream_id, key.request, expected_version))
            if bound[:2] != (stream_id, key.request):
                raise KeyReused()
        stored = [self._by_id[r[0]] for r in rows if r[0] in self._by_id]
        if stored:
            if len(stored) != len(rows) or any(e.stream_id != stream_id for e in stored):
                raise ids_used_elsewhere()
            return AppendResult(
                stream_id,
                stored[-1].stream_version,
                tuple(e.global_position for e in stored),
                stored[-1].recorded_at,
                False,
            )
        stream = self._streams.get(stream_id, [])
        version = len(stream)
        if version != expected_version:
            raise conflict(stream_id, version, expected_version)
        recorded_at = datetime.now(UTC)
        head = stream[-1].hash if stream else ZERO_HASH
        written = []
        for event_id, event_type, schema_version, data, meta in rows:
            version += 1
            event = RecordedEvent.stored(
                len(self._events) + 1,
                stream_id,
                version,
                event_id,
                event_type,
                schema_version,
                case_id,
                canonical_json(data).decode(),
                canonical_json(meta).decode(),
                recorded_at,
                b"",
                self.service,
            )
            event.hash = head = _link(head, event)
            self._events.append(event)
            self._by_id[event_id] = event
            written.append(event)
        self._streams[stream_id] = stream + written
        return AppendResult(
            stream_id, version, tuple(e.global_position for e in written), recorded_at, True
        )

    async def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        as_of: datetime | None = None,
        conn: Any = None,
    ) -> list[RecordedEvent]:
        """The stream in version order; with `as_of`, only what was recorded by then."""
        return [
            _copy(e)
            for e in self._streams.get(stream_id, ())[after_version:]
            if as_of is None or e.recorded_at <= as_of
        ]

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, *, conn: Any = None
    ) -> list[RecordedEvent]:
        """Events after a global position, in order."""
        return [_copy(e) for e in self._events[after_position : after_position + limit]]

    async def stream_agency(self, stream_id: str) -> str | None:
        """The agency under which a stream began."""
        stream = self._streams.get(stream_id)
        return stream[0].raw_metadata["agency"] if stream else None

    async def head_position(self) -> int:
        return len(self._events)

    async def key_binding(self, key_id: UUID) -> tuple[str, str, int] | None:
        """The stream, request digest and prior version a key is bound to, if it is."""
        return self._keys.get(key_id)

    async def verify(self) -> list[ChainBreak]:
        """Recompute every stream's hash chain; list each break."""
        breaks = []
        for stream_id, stream in self._streams.items():
            head = ZERO_HASH
            for e in stream:
                computed = _link(head, e)
                if computed != e.hash:
                    where = (self.schema, stream_id, e.stream_version, e.global_position)
                    breaks.append(ChainBreak(*where, "content does not match its hash"))
                head = e.hash
        return breaks

    async def close(self) -> None:
        return None


def _link(prev_hash: bytes, e: RecordedEvent) -> bytes:
    """The event's link of its stream's hash chain, as `EventStore` computes it."""
    return link(
        prev_hash,
        e.stream_id,
        e.stream_version,
        e.event_id,
        e.event_type,
        e.schema_version,
        e.case_id,
        canonical_json(e.data),
        canonical_json(e.raw_metadata),
        micros(e.recorded_at),
    )


def _copy(event: RecordedEvent) -> RecordedEvent:
    """A fresh event as a read returns one: a reader that changes it changes no other's copy."""
    return RecordedEvent.stored(
        event.global_position,
        event.stream_id,
        event.stream_version,
        event.event_id,
        event.event_type,
        event.schema_version,
        event.case_id,
        event._data_json,  # type: ignore[arg-type]
        event._meta_json,  # type: ignore[arg-type]
        event.recorded_at,
        event.hash,
        event.service,
    )
