"""The practitioner registry: who may facilitate, and who may join a team as a specialist.

Why events on registry streams rather than a plain value handed to decide: who counted as
qualified, since when, and who said so is part of what an auditor must reconstruct "as of" any
past moment (R7, R9), and only an event history gives that. A case's decide still stays pure: the
application layer folds the case agency's registry and hands the current `Practitioner` records
in with the command (`WithPractitioner`, `GateView.practitioners`).

The registry is per agency: one stream per agency (`registry_stream`), which only that
agency's coordinators write. Events of the old single `registry` stream are read as entries
of the agency their metadata names (`legacy_decider`), so another agency's old write never
changes this agency's entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import PractitionerRegistered
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden
from mend_events.security.practitioners import (
    LEGACY_REGISTRY_STREAM,
    MIN_FACILITATOR_LEVEL,
    Practitioner,
    registry_stream,
)

from mend_sessions.commands import RegisterPractitioner

__all__ = [
    "LEGACY_REGISTRY_STREAM",
    "MIN_FACILITATOR_LEVEL",
    "Practitioner",
    "RegistryState",
    "legacy_decider",
    "registry_decider",
    "registry_stream",
]


@dataclass(frozen=True, slots=True)
class RegistryState:
    agency: str | None = None
    practitioners: Mapping[str, Practitioner] = field(default_factory=dict)

    def merged(self, earlier: RegistryState | None) -> RegistryState:
        """This agency's registry with `earlier` entries (the legacy stream's) beneath it."""
        if earlier is None:
            return self
        return replace(self, practitioners={**earlier.practitioners, **self.practitioners})

    def overlaid(self, records: Mapping[str, Practitioner]) -> RegistryState:
        """This registry with newer records (the hub's qualification records) laid over it."""
        if not records:
            return self
        return replace(self, practitioners={**self.practitioners, **records})


def _agency_of(stream_id: str) -> str | None:
    prefix = registry_stream("")
    return stream_id[len(prefix) :] if stream_id.startswith(prefix) else None


def initial(stream_id: str) -> RegistryState:
    return RegistryState(agency=_agency_of(stream_id))


def _with(state: RegistryState, event: PractitionerRegistered) -> RegistryState:
    record = Practitioner.from_event(event)
    return replace(state, practitioners={**state.practitioners, record.id: record})


def evolve(state: RegistryState, event: DomainEvent, meta: Metadata) -> RegistryState:
    if isinstance(event, PractitionerRegistered):
        return _with(state, event)
    return state


def decide(
    state: RegistryState, command: RegisterPractitioner, ctx: CommandContext
) -> list[DomainEvent]:
    # Coordinators manage their own agency's practitioners; nobody registers themselves.
    if ctx.actor.role != Role.COORDINATOR:
        raise Forbidden("only a coordinator may register a practitioner")
    if state.agency is None or ctx.actor.agency != state.agency:
        raise Forbidden("only a coordinator of the agency may change its registry")
    event = PractitionerRegistered(**command.model_dump())
    current = state.practitioners.get(command.practitioner_id)
    if current == Practitioner.from_event(event):
        return []
    return [event]


registry_decider: Decider[RegistryState] = Decider(initial=initial, evolve=evolve, decide=decide)


# --- the legacy single stream: read only, split by the registering coordinator's agency -------

LegacyRegistry = Mapping[str, RegistryState]  # agency -> its entries on the legacy stream


def _legacy_evolve(state: LegacyRegistry, event: DomainEvent, meta: Metadata) -> LegacyRegistry:
    if not isinstance(event, PractitionerRegistered):
        return state
    mine = state.get(meta.agency) or RegistryState(agency=meta.agency)
    return {**state, meta.agency: _with(mine, event)}


def _legacy_decide(state: LegacyRegistry, command: object, ctx: CommandContext) -> list:
    raise Forbidden("the legacy registry stream is read only")


legacy_decider: Decider[LegacyRegistry] = Decider(
    initial=lambda stream_id: {}, evolve=_legacy_evolve, decide=_legacy_decide
)
