"""Reactions to other services' events (R2, R5): keep the consent and risk views, and halt
every scheduled or running session that depended on what was lost.

Each handler runs inside the inbox transaction of its message (`conn`): it takes the case lock
(see consistency.py), writes the view with `conn`, then halts through
`CommandService.execute` as the service itself, with the cause's event id as causation id.
A consent event that only adds a fact (consent given, acknowledgement recorded) is written
without the lock: a gated decision that misses it can only refuse, never pass wrongly, and the
consistency guard already waits for it to commit (its position commits with it) when the
broker held it before the request. That saves a round trip per grant, which is most of the
consent traffic this subscription applies (see bench/halt.py).
The halt commits in its own transaction, before the inbox row; both are safe on redelivery:
the view writes are idempotent, the halt's event ids derive from the cause, and `decide`
emits nothing for a cause already acted on. A message redelivered after the halt committed but
before the inbox did therefore halts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from mend_events.contracts.catalog.risk import RiskAssessmentCompleted, RiskFlagRaised, Severity
from mend_events.contracts.catalog.sessions import HaltCause
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.trust.reactions import KeepsTrust, from_hub

from mend_sessions import commands as c
from mend_sessions.consistency import lock_case
from mend_sessions.domain.forms import ALL_FORMS
from mend_sessions.read_models import (
    CONSENT_LOSSES,
    CONSENT_TYPES,
    RISK_TYPES,
    ConsentView,
    RiskView,
)
from mend_sessions.service import SessionsService, involves_responsible_person


@dataclass(eq=False)
class Reactions(KeepsTrust):
    """The `consent` and `risk` subscriptions' handlers. `service` is a callable because the
    consumers start before the app's service object exists (it is made on first use)."""

    CONSUMES = (
        Consumes("consent", consent=CONSENT_TYPES),
        Consumes("risk", risk=RISK_TYPES),
        from_hub(qualifications=True),
    )

    service: Callable[[], SessionsService]
    consent: ConsentView
    risk: RiskView
    schema: str

    def __post_init__(self) -> None:
        self.keep_trust(self.schema, registry=True)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type not in CONSENT_TYPES:
            return  # e.g. IncentiveReported: its consequence arrives as ConsentInvalidated
        model = event.decode()
        case_id = event.case_id
        if event.event_type in CONSENT_LOSSES:
            await lock_case(conn, self.schema, case_id)
        loss = await self.consent.apply(conn, event, model)
        if loss is None:
            return
        forms = loss.forms
        if loss.cause != HaltCause.ACKNOWLEDGEMENT_WITHDRAWN:
            # Halt only the forms this event touched that consent no longer covers (another
            # grant of the same scope may still be in force).
            now = self.service().clock()
            still = (await self.consent.covered_forms(conn, case_id, now)).get(
                loss.participant_id, frozenset()
            )
            lost = (ALL_FORMS if forms is None else forms) - still
            if not lost:
                return
            forms = None if lost == ALL_FORMS else lost
        command = c.HaltSessionsDependingOnConsent(
            participant_id=loss.participant_id,
            forms=tuple(sorted(forms)) if forms is not None else None,
            cause_event_id=event.event_id,
            cause=loss.cause,
        )
        await self.service().halt(case_id, command, event, conn)

    async def on_risk(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type not in RISK_TYPES:
            return
        model = event.decode()
        case_id = event.case_id
        await lock_case(conn, self.schema, case_id)
        await self.risk.apply(conn, event, model)
        service = self.service()
        if isinstance(model, RiskFlagRaised) and model.severity == Severity.SEVERE:
            command = c.HaltSessionsForRisk(
                cause_event_id=event.event_id, cause=HaltCause.RISK_FLAG
            )
            await service.halt(case_id, command, event, conn)
        elif isinstance(model, RiskAssessmentCompleted):
            # The new decision governs from now: halt each active session it does not permit
            # (form, and whether the responsible person takes part).
            permitted = await self.risk.permitted(conn, case_id, service.clock())
            state = await service.case(case_id, conn)
            affected = tuple(
                s.id
                for s in service.active_sessions(state)
                if (s.form, involves_responsible_person(s.participants)) not in permitted
            )
            if affected:
                command = c.HaltSessionsForRisk(
                    cause_event_id=event.event_id,
                    cause=HaltCause.RISK_DECISION,
                    session_ids=tuple(sorted(affected)),
                )
                await service.halt(case_id, command, event, conn)
