"""Events used only by the library's own tests."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.events import DomainEvent, registry


@registry.register
class SampleNoted(DomainEvent):
    event_type = "SampleNoted"
    n: int
    label: str = "x"


def meta(causation: UUID | None = None) -> Metadata:
    return Metadata(
        actor_id="prac-test1",
        role=Role.PRACTITIONER,
        agency="agency-a",
        correlation_id=uuid4(),
        causation_id=causation,
        occurred_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


def noted(n: int, event_id: UUID | None = None) -> NewEvent:
    return NewEvent(event_id or uuid4(), SampleNoted(n=n), meta())
