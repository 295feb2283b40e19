"""The shape of every service's pure domain: `decide(state, command, ctx) -> events` and
`evolve(state, event, meta) -> state`. No I/O here, so a decision is testable in microseconds
and a replay gives the same state byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from mend_events.contracts import DomainEvent
from mend_events.envelope import Metadata
from mend_events.identity_types import Actor

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, and when. `now` comes from here, never from the clock inside the domain."""

    actor: Actor
    now: datetime
    correlation_id: UUID
    causation_id: UUID | None = None


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
