"""A tiny in-memory harness over the pure decider: decide, then evolve what was decided.

Fixtures only (no helper module to import), so these tests run under any pytest import mode.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_sessions.domain import decider
from mend_sessions.domain.state import CaseState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _actor(pid: str, role: Role) -> Actor:
    return Actor(id=pid, role=role, agency="rj-hub")


class Harness:
    """One case stream. `do` goes through decide; `record` stores an event as if it had been
    decided earlier (to reach states the current rules would refuse to build)."""

    hp = _actor("hp-0001", Role.HARMED_PERSON)
    rp = _actor("rp-0001", Role.RESPONSIBLE_PERSON)
    sup = _actor("sup-0001", Role.SUPPORTER)
    fac = _actor("prac-0001", Role.PRACTITIONER)
    other_prac = _actor("prac-0009", Role.PRACTITIONER)
    coord = _actor("coord-0001", Role.COORDINATOR)
    auditor = _actor("aud-0001", Role.AUDITOR)
    system = _actor("svc-sessions", Role.SYSTEM)

    def __init__(self, case_id: str = "case-0001") -> None:
        self.state: CaseState = decider.initial(case_id)
        self.now = T0
        self.history: list[tuple[DomainEvent, Metadata]] = []

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def do(self, actor: Actor, command: object) -> list[DomainEvent]:
        ctx = CommandContext(actor=actor, now=self.now, correlation_id=uuid4())
        events = decider.decide(self.state, command, ctx)
        for event in events:
            self.record(event, actor)
        return events

    def record(self, event: DomainEvent, actor: Actor | None = None) -> None:
        actor = actor or self.fac
        meta = Metadata(actor.id, actor.role, actor.agency, uuid4(), None, self.now)
        self.state = decider.evolve(self.state, event, meta)
        self.history.append((event, meta))

    def replayed(self) -> CaseState:
        return decider.fold(self.state.case_id, self.history)


@pytest.fixture
def case() -> Harness:
    return Harness()


@pytest.fixture(scope="session")
def make_case() -> type[Harness]:
    """For property tests: a fresh case per generated example (the class itself is stateless)."""
    return Harness
