"""What travels with every event: the envelope (ids, stream, actor, times, causation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from mend_events.contracts import DomainEvent, registry
from mend_events.identity_types import Role


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


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the store holds it. `data` is what was stored (personal fields sealed)."""

    global_position: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: Metadata
    recorded_at: datetime
    case_id: str
    service: str = ""
    hash: bytes = field(default=b"", repr=False)

    def decode(self) -> DomainEvent:
        """The typed event, upcast to the current schema version."""
        return registry.decode(self.event_type, self.schema_version, self.data)
