"""Aftercare's reactions to other services' events, run by the inbox consumers: each handler
runs inside the inbox transaction, so the rows it writes with `conn` apply exactly once.

- consent: every consent event updates `ConsentFacts` (grants in force per case and
  participant). A ConsentWithdrawn of the harmed person's consent (any scope, whoever relayed
  it) also offers after-care (R2).
- sessions: CaseOpened and ParticipantEnrolled make the case, its agency and its members known
  (the shared case directory, mend_events.security.cases);
  SessionHalted and SessionCompleted offer after-care; AgreementReached records one commitment
  per item.

Community team conferences (issue 21): a withdrawal, invalidation or lapse that ends the harmed
person's take_part grant, any SessionHalted and a CaseClosed cancel every conference of the case
still to meet, once, each cancellation naming its cause (conferences.py `cancel_for`).

One cause chain, one offer: a SessionHalted names its root (`cause_event_id`, else the
envelope's causation id), so the withdrawal and the halt it caused, arriving on two topics in
either order, give the survivor one offer (the domain decides it; see domain.py).

Offers and commitments go through `CommandService.execute` with a SYSTEM actor and
`causation_id` = the cause event's id. That append commits in its own transaction; a redelivery
(a crash before the inbox commit, a duplicate message, a restart) decides again, and the
domain's one-offer-per-cause rule plus the derived event ids make it write nothing.

Within one source topic the events of a case share a partition (key = case id), so a case's
CaseOpened is handled before its halts, and a participant's ConsentGiven before their
withdrawal. Across topics there is no order: the withdrawer's role therefore comes first from
the sessions fact, else from their ConsentGiven (`participant_role`), else from the envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import structlog
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import ConferenceCancelCause, OfferCause
from mend_events.contracts.catalog.consent import TAKE_PART, ConsentWithdrawn
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Unavailable
from mend_events.messaging.consumer_errors import TRANSIENT, describe_error
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS, CaseDirectory
from mend_events.security.trust.reactions import KeepsTrust, from_hub

from mend_aftercare.read_models import CONSENT_TYPES, ConsentFacts
from mend_aftercare.service import AftercareService

log = structlog.get_logger("mend.aftercare.reactions")

_CONFERENCE_CAUSES = {
    "ConsentWithdrawn": ConferenceCancelCause.CONSENT_WITHDRAWN,
    "ConsentInvalidated": ConferenceCancelCause.CONSENT_INVALIDATED,
    "ConsentLapsed": ConferenceCancelCause.CONSENT_LAPSED,
}
_OFFER_CAUSES = {
    "SessionHalted": OfferCause.SESSION_HALTED,
    "SessionCompleted": OfferCause.SESSION_COMPLETED,
}


def root_of(event: RecordedEvent) -> UUID | None:
    """The event that began `event`'s cause chain: what a halt names as its cause (a withdrawal,
    a lapse, a risk flag), else its envelope's cause; None when it began the chain itself."""
    named = event.data.get("cause_event_id") if event.event_type == "SessionHalted" else None
    if named is not None:
        return UUID(str(named))
    return event.metadata.causation_id


@dataclass(eq=False)
class Reactions(KeepsTrust):
    """The `consent` and `sessions` subscriptions' handlers. `service` is a callable because the
    consumers start before the app's service object exists (it is made on first use)."""

    CONSUMES = (
        Consumes("consent", consent=CONSENT_TYPES),
        Consumes(
            "sessions",
            sessions=(*CASE_EVENTS, *_OFFER_CAUSES, "AgreementReached", "CaseClosed"),
        ),
        from_hub(),
    )

    service: Callable[[], AftercareService]
    directory: CaseDirectory
    consent: ConsentFacts

    def __post_init__(self) -> None:
        self.keep_trust(self.directory.schema)

    # --- consent ------------------------------------------------------------------------------

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type not in CONSENT_TYPES:
            return
        # The facts first, and whatever happens to the offer they commit: a lost withdrawal
        # here could let a progress update through.
        await self.consent.apply(conn, event)
        if event.event_type == "ConsentGiven":
            return
        fact = event.decode()
        person = fact.participant_id
        if not await self._is_harmed_person(conn, event, person):
            return
        service = self.service()
        agency = await self._agency(conn, event)
        ended = [g.scope for g in fact.grants] if hasattr(fact, "grants") else [fact.scope]
        if TAKE_PART in ended:  # her participation ended: no conference meets without it
            cause = _CONFERENCE_CAUSES[event.event_type]
            await self._guarded(event, service.conferences.cancel_for(event, cause, agency))
        if isinstance(fact, ConsentWithdrawn):
            await self._guarded(
                event, service.offer(event, person, OfferCause.CONSENT_WITHDRAWN, agency)
            )

    async def _guarded(self, event: RecordedEvent, step: Awaitable[object]) -> None:
        try:
            await step
        except TRANSIENT:
            raise  # the consumer retries the whole message, fact included, until it passes
        except Exception as exc:
            # Anything else would fail again on every retry, and a dead letter would take the
            # consent fact with it (a withdrawal lost here could let an update through): the
            # fact commits, and the failed step is logged for an operator to replay.
            log.error(
                "aftercare.offer_failed",
                case_id=event.case_id,
                cause_event_id=str(event.event_id),
                error=describe_error(exc),
            )

    async def _is_harmed_person(
        self, conn: asyncpg.Connection, event: RecordedEvent, participant_id: str
    ) -> bool:
        entry = await self.directory.entry(conn, event.case_id)
        if entry is not None:
            return entry.harmed_person_id == participant_id
        role = await self.consent.role_of(conn, event.case_id, participant_id)
        if role is not None:
            return role == Role.HARMED_PERSON
        meta = event.metadata
        return meta.role is Role.HARMED_PERSON and meta.actor_id == participant_id

    # --- sessions -----------------------------------------------------------------------------

    async def on_sessions(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        kind = event.event_type
        if kind in CASE_EVENTS:
            await self.directory.apply(conn, event)
        elif kind in _OFFER_CAUSES:
            person = await self._harmed_person_of(conn, event)
            service = self.service()
            agency = await self._agency(conn, event)
            if kind == "SessionHalted":  # a halted case meets again only when rescheduled
                cause = ConferenceCancelCause.SESSION_HALTED
                await service.conferences.cancel_for(event, cause, agency)
            await service.offer(event, person, _OFFER_CAUSES[kind], agency, root_of(event))
        elif kind == "CaseClosed":
            service = self.service()
            cause = ConferenceCancelCause.CASE_CLOSED
            await service.conferences.cancel_for(event, cause, await self._agency(conn, event))
        elif kind == "AgreementReached":
            service = self.service()
            await service.record_agreement(event, await self._agency(conn, event))

    async def _harmed_person_of(self, conn: asyncpg.Connection, event: RecordedEvent) -> str:
        entry = await self.directory.entry(conn, event.case_id)
        if entry is not None:
            return entry.harmed_person_id
        found = await conn.fetchval(
            f"SELECT participant_id FROM {self.consent.schema}.consent_subjects "
            f"WHERE case_id = $1 AND participant_role = $2 ORDER BY changed_at LIMIT 1",
            event.case_id,
            str(Role.HARMED_PERSON),
        )
        if found is None:
            # Retried by the consumer, then dead-lettered with this reason for an operator.
            raise Unavailable(
                "the case's harmed person is not known to aftercare yet", field="case_id"
            )
        return found

    async def _agency(self, conn: asyncpg.Connection, event: RecordedEvent) -> str:
        entry = await self.directory.entry(conn, event.case_id)
        return entry.agency if entry else event.metadata.agency
