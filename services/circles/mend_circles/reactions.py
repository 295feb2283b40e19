"""The circles service's reactions to other services' events, run by the inbox consumers: each
handler runs inside the inbox transaction, so the rows it writes with `conn` apply exactly once.

- consent: circle grants and acknowledgements become facts (read_models.CircleConsent). A
  ConsentWithdrawn, ConsentLapsed or ConsentInvalidated that ends a circle grant halts the
  participation joined under it at once (R2), naming the consent event as its cause; an
  AcknowledgementWithdrawn halts that responsible person's participation in every circle they
  are in through that case. The halt goes through `CommandService.execute` with the SYSTEM
  actor and the cause's id as causation id: the derived event ids and the domain's "nothing
  left to halt" make a redelivery write nothing (once).
- sessions: CaseOpened and ParticipantEnrolled make each case's agency and members known (the
  shared case directory): who may be invited, in which role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from mend_events.contracts.catalog.consent import AcknowledgementWithdrawn
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS, CaseDirectory
from mend_events.security.trust.reactions import KeepsTrust, from_hub

from mend_circles.read_models import CONSENT_TYPES, CircleConsent, CircleIndex
from mend_circles.service import CirclesService

log = structlog.get_logger("mend.circles.reactions")


@dataclass(eq=False)
class Reactions(KeepsTrust):
    """The `consent` and `sessions` subscriptions' handlers. `service` is a callable because the
    consumers start before the app's service object exists (it is made on first use)."""

    CONSUMES = (
        Consumes("consent", consent=CONSENT_TYPES),
        Consumes("sessions", sessions=CASE_EVENTS),
        from_hub(),
    )

    service: Callable[[], CirclesService]
    directory: CaseDirectory
    consent: CircleConsent
    index: CircleIndex

    def __post_init__(self) -> None:
        self.keep_trust(self.directory.schema)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        # The fact first (in this transaction, holding the grant's row lock), then the halt.
        ended = await self.consent.apply(conn, event)
        now = datetime.now(UTC)
        halted = 0
        if ended:
            halted = await self.service().halt_for(event, ended, now)
        elif event.event_type == "AcknowledgementWithdrawn":
            model = event.decode()
            assert isinstance(model, AcknowledgementWithdrawn)
            person = model.responsible_person_id
            circles = await self.index.active_in(conn, person, event.case_id)
            if circles:
                halted = await self.service().halt_unacknowledged(event, circles, person, now)
        if halted:
            log.info("circles.participation_halted", cause_event_id=str(event.event_id),
                     cause=event.event_type, halted=halted)  # fmt: skip

    async def on_sessions(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.directory.apply(conn, event)
