"""What travels with every event: the envelope (ids, stream, actor, times, causation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from mend_events.contracts.actors import Role
from mend_events.contracts.events import DomainEvent, registry


@dataclass(frozen=True, slots=True)
class Metadata:
    actor_id: str
    role: Role
    agency: str
    correlation_id: UUID
    causation_id: UUID | None
    occurred_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "role": str(self.role),
            "agency": self.agency,
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "occurred_at": self.occurred_at.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Metadata:
        causation = raw.get("causation_id")
        return cls(
            actor_id=raw["actor_id"],
            role=Role(raw["role"]),
            agency=raw["agency"],
            correlation_id=UUID(raw["correlation_id"]),
            causation_id=UUID(causation) if causation else None,
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
        )


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event on its way into the store; the caller fixes its id, so a retry is idempotent."""

    event_id: UUID
    event: DomainEvent
    metadata: Metadata

    @property
    def event_type(self) -> str:
        return self.event.event_type


class RecordedEvent:
    """An event as the store holds it. `data` is what was stored (personal fields sealed).

    The metadata is parsed on first use: replays and relays of millions of events mostly
    never look at it, and parsing ids and times is most of a row's cost. Events read by the
    store (`stored`) keep data and metadata as JSON text until first use, too.
    """

    __slots__ = (
        "_data",
        "_data_json",
        "_meta_json",
        "_metadata",
        "_model",
        "_raw_metadata",
        "case_id",
        "event_id",
        "event_type",
        "global_position",
        "hash",
        "recorded_at",
        "schema_version",
        "service",
        "stream_id",
        "stream_version",
    )

    def __init__(
        self,
        *,
        global_position: int,
        stream_id: str,
        stream_version: int,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
        recorded_at: datetime,
        case_id: str,
        metadata: Metadata | None = None,
        raw_metadata: dict[str, Any] | None = None,
        service: str = "",
        hash: bytes = b"",
    ) -> None:
        if metadata is None and raw_metadata is None:
            raise ValueError("metadata or raw_metadata is required")
        self.global_position = global_position
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_id = event_id
        self.event_type = event_type
        self.schema_version = schema_version
        self._data = data
        self._data_json: str | None = None
        self._meta_json: str | None = None
        self.recorded_at = recorded_at
        self.case_id = case_id
        self.service = service
        self.hash = hash
        self._metadata = metadata
        self._raw_metadata = raw_metadata
        self._model: DomainEvent | None = None

    @classmethod
    def stored(
        cls,
        global_position: int,
        stream_id: str,
        stream_version: int,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        case_id: str,
        data_json: str,
        meta_json: str,
        recorded_at: datetime,
        hash: bytes,
        service: str,
    ) -> RecordedEvent:
        """A row as the store reads it (positional, in `store._READ_COLUMNS` order), with data
        and metadata as JSON text: the fast path of replays, parsed only when used."""
        self = object.__new__(cls)
        self.global_position = global_position
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_id = event_id
        self.event_type = event_type
        self.schema_version = schema_version
        self.case_id = case_id
        self._data = None
        self._data_json = data_json
        self._metadata = None
        self._raw_metadata = None
        self._meta_json = meta_json
        self._model = None
        self.recorded_at = recorded_at
        self.hash = hash
        self.service = service
        return self

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = orjson.loads(self._data_json)  # type: ignore[arg-type]
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value
        self._model = None

    @property
    def metadata(self) -> Metadata:
        if self._metadata is None:
            self._metadata = Metadata.from_json(self.raw_metadata)
        return self._metadata

    @property
    def raw_metadata(self) -> dict[str, Any]:
        if self._raw_metadata is None:
            if self._meta_json is not None:
                self._raw_metadata = orjson.loads(self._meta_json)
            else:
                self._raw_metadata = self._metadata.to_json()  # type: ignore[union-attr]
        return self._raw_metadata

    def __repr__(self) -> str:
        return (
            f"RecordedEvent({self.service}:{self.stream_id}@{self.stream_version} "
            f"{self.event_type} #{self.global_position})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordedEvent) and (self.service, self.event_id) == (
            other.service,
            other.event_id,
        )

    def __hash__(self) -> int:
        return hash((self.service, self.event_id))

    def decode(self) -> DomainEvent:
        """The typed event, upcast to the current schema version (decoded once: the consumer
        validates every message before its handler decodes it again)."""
        if self._model is None:
            self._model = registry.decode(self.event_type, self.schema_version, self.data)
        return self._model
