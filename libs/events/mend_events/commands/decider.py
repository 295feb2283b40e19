"""The shape of every service's pure domain: `decide(state, command, ctx) -> events` and
`evolve(state, event, meta) -> state`. No I/O here, so a decision is testable in microseconds
and a replay gives the same state byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.contracts.events import DomainEvent

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, and when. `now` comes from here, never from the clock inside the domain."""

    actor: Actor
    now: datetime
    correlation_id: UUID
    causation_id: UUID | None = None

    def metadata(self) -> Metadata:
        """The envelope of every event decided in this context."""
        return Metadata(
            actor_id=self.actor.id,
            role=self.actor.role,
            agency=self.actor.agency,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            occurred_at=self.now,
        )


def system_actor(service: str, agency: str) -> Actor:
    """The service itself (`svc-<service>`), acting within `agency`."""
    return Actor(id=f"svc-{service}", role=Role.SYSTEM, agency=agency)


def system_context(
    service: str,
    agency: str,
    cause: RecordedEvent | None = None,
    *,
    now: datetime,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> CommandContext:
    """The service acting on its own: because of `cause` (another event: its id is the
    causation id, so the events decided get deterministic ids and a redelivery writes nothing
    twice, within the cause's correlation), or with the ids given, or on a fresh correlation."""
    if cause is not None:
        correlation_id, causation_id = cause.metadata.correlation_id, cause.event_id
    return CommandContext(
        actor=system_actor(service, agency),
        now=now,
        correlation_id=correlation_id or uuid4(),
        causation_id=causation_id,
    )


@dataclass(frozen=True, slots=True)
class Decider(Generic[S]):
    initial: Callable[[str], S]
    evolve: Callable[[S, DomainEvent, Metadata], S]
    decide: Callable[[S, Any, CommandContext], list[DomainEvent]]

    def fold(self, stream_id: str, history: Iterable[tuple[DomainEvent, Metadata]]) -> S:
        state = self.initial(stream_id)
        for event, meta in history:
            state = self.evolve(state, event, meta)
        return state
