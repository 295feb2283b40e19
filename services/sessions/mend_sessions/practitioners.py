"""The practitioner registry: who may facilitate, and who may join a team as a specialist.

Why events on a separate `registry` stream rather than a plain value handed to decide: who counted
as qualified, since when, and who said so is part of what an auditor must reconstruct "as of" any
past moment (R7, R9), and only an event history gives that. A case's decide still stays pure: the
application layer folds this stream (or its projection) and hands the current `Practitioner`
records in with the command (`WithPractitioner`, `GateView.practitioners`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mend_events.catalog.sessions import PractitionerRegistered, Specialism
from mend_events.contracts import DomainEvent
from mend_events.decider import CommandContext, Decider
from mend_events.envelope import Metadata
from mend_events.errors import Forbidden
from mend_events.identity_types import Role

from mend_sessions.commands import RegisterPractitioner

REGISTRY_STREAM = "registry"

# Sexual-harm cases are complex and sensitive: a level-1 practitioner may join a team but not
# facilitate one. Adjust here, in one place, if the agencies' accreditation scheme says otherwise.
MIN_FACILITATOR_LEVEL = 2


@dataclass(frozen=True, slots=True)
class Practitioner:
    id: str
    rj_trained: bool
    sexual_harm_trained: bool
    level: int
    specialisms: frozenset[Specialism] = frozenset()

    @classmethod
    def from_event(cls, event: PractitionerRegistered) -> Practitioner:
        return cls(
            id=event.practitioner_id,
            rj_trained=event.rj_trained,
            sexual_harm_trained=event.sexual_harm_trained,
            level=event.level,
            specialisms=frozenset(event.specialisms),
        )

    def facilitation_gaps(self) -> list[str]:
        """Why this practitioner may not facilitate a sexual-harm case; empty when they may."""
        gaps = []
        if not self.rj_trained:
            gaps.append("not trained in restorative justice")
        if not self.sexual_harm_trained:
            gaps.append("not trained in sexual-harm casework")
        if self.level < MIN_FACILITATOR_LEVEL:
            gaps.append(f"level {self.level} is below the required {MIN_FACILITATOR_LEVEL}")
        return gaps

    @property
    def may_facilitate(self) -> bool:
        return not self.facilitation_gaps()

    def has(self, specialism: Specialism) -> bool:
        return specialism in self.specialisms


@dataclass(frozen=True, slots=True)
class RegistryState:
    practitioners: Mapping[str, Practitioner] = field(default_factory=dict)


def initial(stream_id: str) -> RegistryState:
    return RegistryState()


def evolve(state: RegistryState, event: DomainEvent, meta: Metadata) -> RegistryState:
    if isinstance(event, PractitionerRegistered):
        record = Practitioner.from_event(event)
        return replace(state, practitioners={**state.practitioners, record.id: record})
    return state


def decide(
    state: RegistryState, command: RegisterPractitioner, ctx: CommandContext
) -> list[DomainEvent]:
    # Coordinators manage practitioners; nobody registers themselves.
    if ctx.actor.role != Role.COORDINATOR:
        raise Forbidden("only a coordinator may register a practitioner")
    event = PractitionerRegistered(**command.model_dump())
    current = state.practitioners.get(command.practitioner_id)
    if current == Practitioner.from_event(event):
        return []
    return [event]


registry_decider: Decider[RegistryState] = Decider(initial=initial, evolve=evolve, decide=decide)
