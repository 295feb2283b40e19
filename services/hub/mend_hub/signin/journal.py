"""The sign-in's events, appended to the hub's store: what happened to an account (opened,
credentials changed, locked, unlocked, a participant invited) and an agency's new signing key.
The facts are decided by the sign-in's tables (a lock is a row's state); these events record them
for the audit trail and for the services, so the decider only writes what it is given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from mend_events.commands.decider import CommandContext, Decider, system_actor
from mend_events.commands.service import CommandService
from mend_events.contracts.actors import Actor
from mend_events.contracts.events import DomainEvent
from mend_events.store import EventStore


def _given(state: None, events: Sequence[DomainEvent], ctx: CommandContext) -> list[DomainEvent]:
    return list(events)


# `svc-hub` is too short for a pseudonymous id (4 characters at least after the dash).
SYSTEM = "hub-signin"
RECORD = Decider(initial=lambda _: None, evolve=lambda s, e, m: None, decide=_given)


class Journal:
    def __init__(self, store: EventStore) -> None:
        self._commands: CommandService[None] = CommandService(store, RECORD, cache_size=1000)

    async def record(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        *,
        actor: Actor | None,
        agency: str,
        now: datetime,
        correlation_id: UUID | None = None,
    ) -> None:
        """Append `events` as `actor` (the sign-in itself, `svc-hub-signin`, when nobody signed
        in acts: a lock after failures, a redeemed code)."""
        ctx = CommandContext(
            actor=actor or system_actor(SYSTEM, agency),
            now=now,
            correlation_id=correlation_id or uuid4(),
        )
        await self._commands.execute(stream_id, tuple(events), ctx)
