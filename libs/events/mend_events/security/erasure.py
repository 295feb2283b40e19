"""Erasure of a person's personal data on request (R7: nothing is erased from history, personal
data can be made unreadable), from the request to the last process that could show it.

- The request is a command, `EraseSubject`: which person (pseudonymous id), on what basis (a
  code), who asks (the verified token's actor). The person themself may ask for their own data,
  and a coordinator for anyone's within their own agency; nobody of another agency, no operator,
  auditor or practitioner (`policy.ERASURE_RULES`, action `person.erase`).
- It is recorded as `PersonalDataErased` (no personal data: an id and a code) by the consent
  service, on the stream `erasure.<agency>.<person>`: the consent service owns it because the
  person's consent record, and most of their sealed text, is there; its topic already reaches
  every other service. `request_erasure` is the one path, used by the API route and `mend erase`.
- What it does, in every service that holds the person's data keys (each schema has its own
  `data_keys`): the keys of that person in the event's agency, made up to the request's
  `occurred_at`, are destroyed in one transaction with the service's progress. In the consent
  service that is a projection over its own events (`ErasureProjection`; the request waits for
  it, so an answer means done); in every other service, the consumer of the consent topic, in
  the inbox transaction (`shredding`, wired by the runtime). Keys made after the request (text
  the person gives later) are not touched, so a replay or a redelivery is harmless.
- Every process stops serving the fields at once because no process caches a data key beyond
  one call (`crypto.FieldSealer`). The events and their hash chains stay as they were: the chain
  is over ciphertext, so `mend audit verify` still passes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict

from mend_events.commands.decider import CommandContext, Decider
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.actors import AgencyId, PseudoId
from mend_events.contracts.catalog.consent import ErasureBasis, PersonalDataErased
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.inbox import Handler
from mend_events.security.crypto import PgKeyStore
from mend_events.security.identity import Identity
from mend_events.security.policy import ERASURE_RULES, Policy

__all__ = [
    "ERASED",
    "OWNER",
    "EraseSubject",
    "ErasureBody",
    "ErasureProjection",
    "authorize",
    "erasure_stream",
    "request_erasure",
    "shred_for",
    "shredding",
]

log = structlog.get_logger("mend.erasure")

ERASED = PersonalDataErased.event_type
OWNER = "consent"  # the service that records erasure requests
POLICY = Policy(ERASURE_RULES)


class ErasureBody(BaseModel):
    """The request body: the basis, and the agency whose records are meant (the caller's by
    default; naming another agency is refused)."""

    model_config = ConfigDict(extra="forbid")

    basis: ErasureBasis
    agency: AgencyId | None = None


class EraseSubject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: PseudoId
    basis: ErasureBasis


@dataclass(frozen=True, slots=True)
class ErasureState:
    requests: int = 0


def _initial(stream_id: str) -> ErasureState:
    return ErasureState()


def _evolve(state: ErasureState, event: DomainEvent, meta: Metadata) -> ErasureState:
    if isinstance(event, PersonalDataErased):
        return ErasureState(requests=state.requests + 1)
    return state


def _decide(state: ErasureState, command: EraseSubject, ctx: CommandContext) -> list[DomainEvent]:
    # Every request is recorded, a repeated one too: keys made since the last one (text given
    # after it) are erased by the new one. A retried HTTP request repeats its Idempotency-Key
    # and so its event id, and writes nothing twice.
    return [PersonalDataErased(person_id=command.person_id, basis=command.basis)]


decider: Decider[ErasureState] = Decider(initial=_initial, evolve=_evolve, decide=_decide)


def erasure_stream(agency: str, person_id: str) -> str:
    return f"erasure.{agency}.{person_id}"


def authorize(identity: Identity, person_id: str, agency: str | None) -> str:
    """The agency the request is about (the caller's, unless named); Forbidden unless this
    caller may erase this person's data there."""
    target = agency or identity.agency
    POLICY.authorize(identity, "person.erase", {"agency": target, "person_id": person_id})
    return target


async def request_erasure(
    commands: CommandService[ErasureState],
    identity: Identity,
    person_id: str,
    body: ErasureBody,
    *,
    settle: Callable[[], Awaitable[object]],
    correlation_id: UUID | None = None,
    idempotency_key: str | None = None,
) -> CommandResult[ErasureState]:
    """Authorise, record the request, and destroy the owner service's keys (`settle` brings
    its `ErasureProjection` up to date) before answering: an answer means the fields are
    unreadable in every process of the owner service."""
    agency = authorize(identity, person_id, body.agency)
    ctx = CommandContext(
        actor=identity.actor, now=datetime.now(UTC), correlation_id=correlation_id or uuid4()
    )
    result = await commands.execute(
        erasure_stream(agency, person_id),
        EraseSubject(person_id=person_id, basis=body.basis),
        ctx,
        idempotency_key=idempotency_key,
    )
    await settle()
    return result


async def shred_for(conn: asyncpg.Connection, schema: str, event: RecordedEvent) -> list[str]:
    """Destroy, in `schema` and within `conn`'s transaction, the keys that the erasure `event`
    names: the person's, in the event's agency, made up to the request."""
    model = event.decode()
    assert isinstance(model, PersonalDataErased)
    meta = event.metadata
    kids = await PgKeyStore(conn, schema).shred(
        model.person_id, datetime.now(UTC), agency=meta.agency, before=meta.occurred_at
    )
    # Ids and counts only: the person id is pseudonymous, and no text is ever logged.
    log.info("erasure.keys_destroyed", schema=schema, erasure=str(event.event_id), keys=len(kids))
    return kids


def shredding(handler: Handler, schema: str) -> Handler:
    """`handler` for a subscription to the owner's topic, which first applies an erasure in the
    same inbox transaction (exactly once, with the consumer's progress)."""

    async def handle(conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type == ERASED:
            await shred_for(conn, schema, event)
        await handler(conn, event)

    handle.__name__ = getattr(handler, "__name__", "handle")
    handle.applies_erasures = True  # type: ignore[attr-defined]
    return handle


class ErasureProjection:
    """The owner service's own erasures: destroys its keys in the projection's transaction, so a
    crash between the request and the shred is resumed where it stopped. A rebuild replays the
    erasures, which destroys nothing more (only keys made up to each request)."""

    name = "erasures"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.event_type == ERASED:
                await shred_for(conn, self.schema, event)

    async def reset(self, conn: asyncpg.Connection) -> None:
        return None  # no rows of its own; a destroyed key stays destroyed
