"""The hub's subscription `notify`: the case events that queue a reminder (a session
scheduled, an after-care or support check-in scheduled), cancel one (a withdrawal, a halt, a
check-in settled, a plan stopped) or need staff (a halt, a withdrawal, a severe flag, a
reassessment due). Runs inside the inbox transaction of each message."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from mend_events.contracts.catalog.aftercare import (
    AftercareClosed,
    CheckInCompleted,
    CheckInMissed,
    CheckInScheduled,
    DesistancePlanEnded,
)
from mend_events.contracts.catalog.consent import ConsentWithdrawn
from mend_events.contracts.catalog.hub import NoticeReason
from mend_events.contracts.catalog.risk import RiskFlagRaised, RiskReassessmentDue, Severity
from mend_events.contracts.catalog.sessions import SessionHalted, SessionScheduled
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes

from mend_hub.notify.service import NotifyService


class Reactions:
    CONSUMES = (
        Consumes(
            "notify",
            sessions=(SessionScheduled.event_type, SessionHalted.event_type),
            consent=(ConsentWithdrawn.event_type,),
            risk=(RiskFlagRaised.event_type, RiskReassessmentDue.event_type),
            aftercare=(
                CheckInScheduled.event_type,
                CheckInCompleted.event_type,
                CheckInMissed.event_type,
                AftercareClosed.event_type,
                DesistancePlanEnded.event_type,
            ),
        ),
    )

    def __init__(self, service: Callable[[], NotifyService]) -> None:
        self.service = service

    async def on_notify(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        svc, model = self.service(), event.decode()
        match model:
            case SessionScheduled():
                await svc.session_scheduled(event, model)
            case SessionHalted():
                await svc.session_halted(event, model)
            case ConsentWithdrawn():
                await svc.consent_withdrawn(event, model)
            case RiskFlagRaised(severity=Severity.SEVERE):
                await svc.notify(event, NoticeReason.SEVERE_FLAG, event.event_id)
            case RiskReassessmentDue():
                await svc.notify(event, NoticeReason.REASSESSMENT_DUE, event.event_id)
            case CheckInScheduled():
                await svc.check_in_scheduled(event, model)
            case CheckInCompleted() | CheckInMissed():
                await svc.check_in_settled(event, model.check_in_id)
            case AftercareClosed():
                await svc.plan_closed(event)
            case DesistancePlanEnded():
                await svc.plan_closed(event, model.responsible_person_id)
