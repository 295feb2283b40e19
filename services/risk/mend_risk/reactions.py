"""The risk service's reactions to other services' events: when a reassessment falls due.

Subscribed as `triggers` to the consent, sessions and aftercare topics (`Reactions.CONSUMES`,
with the case directory's CaseOpened and ParticipantEnrolled). Each trigger becomes
`MarkReassessmentDue(trigger, trigger_event_id)` through the CommandService, as the service
itself (a SYSTEM actor) with the trigger's id as causation id: the inbox makes a redelivery a
no-op, and should the inbox row be lost after the append, the derived event id and the
idempotent `decide` (a trigger is due once, for good) still write nothing twice.

What makes a reassessment due (DOMAIN.md stage 6, issue 5):
- the case changes stage (sessions): see `STAGE_CHANGES`;
- a flag is raised: not here, the risk domain records the due reassessment with the flag;
- consent is regranted after a withdrawal (consent): a ConsentGiven for a (participant, scope)
  whose consent was withdrawn, or invalidated for an incentive, and not given since;
- a session was halted for safety (sessions): see `SAFETY_HALTS`;
- the responsible person missed an after-care check-in (aftercare). A harmed person's missed
  check-in never triggers anything (R10).

Of the other services, only their published contracts (`mend_events.contracts.catalog`) are
imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog
from mend_events.contracts.catalog.aftercare import CheckInMissed, PlanRole
from mend_events.contracts.catalog.consent import ConsentGiven, ConsentInvalidated, ConsentWithdrawn
from mend_events.contracts.catalog.risk import ReassessmentTrigger
from mend_events.contracts.catalog.sessions import HaltCause, SessionHalted
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS, CaseDirectory
from mend_events.security.practitioners import SUBSCRIPTION as REGISTRY
from mend_events.security.trust.reactions import KeepsTrust, from_hub

from mend_risk.service import RiskService

log = structlog.get_logger("mend.risk.reactions")

# Sessions events that move a case into another stage:
#   FacilitatorChosen       stage 2: a facilitator is allocated (or changed), so the fuller
#                           assessment by that facilitator is due;
#   PreparationSessionHeld  stage 7: the facilitator has met a party, which is what the full
#                           assessment rests on (one per party, each new information);
#   CaseResumed             back from a pause: time has passed and circumstances may have changed;
#   AgreementReached        stage 9: an outcome (e.g. family or contact arrangements) changes the
#                           risk picture for what follows.
# Not stage changes for risk: CaseOpened (nothing is assessed yet: the initial assessment is the
# first step anyway), PreferencesSet (within a stage), CasePaused (nothing happens while
# paused; the resumption triggers), SessionScheduled / SessionStarted / SessionCompleted (within
# the contact stage, and scheduling is itself gated on a current assessment, R4: a trigger there
# would mark every gate just passed as due again), CaseClosed (nothing follows).
STAGE_CHANGES = frozenset(
    {"FacilitatorChosen", "PreparationSessionHeld", "CaseResumed", "AgreementReached"}
)

# Halts that may have been for safety. A practitioner's halt and a halt for a risk flag are;
# a participant owes no reason (R3), so safety cannot be ruled out and a reassessment before the
# session is re-scheduled is the survivor-centred reading. Not: halts caused by consent or
# acknowledgement (the regrant trigger covers consent given again) or by a risk decision (that
# decision is itself the fresh assessment).
SAFETY_HALTS = frozenset(
    {HaltCause.RISK_FLAG, HaltCause.PRACTITIONER_HALT, HaltCause.PARTICIPANT_HALT}
)

_CONSENT_LOST = frozenset({"ConsentWithdrawn", "ConsentInvalidated"})


@dataclass(eq=False)
class Reactions(KeepsTrust):
    """`on_triggers`: what makes a reassessment due, and the case directory (access to a
    case's risk record is decided on its agency and members). `on_registry`: the practitioner
    registry, per agency, for sign-offs. `service` is looked up on each event, because consumers
    start before the application's start hooks run."""

    CONSUMES = (
        Consumes(
            "triggers",
            consent=(*_CONSENT_LOST, "ConsentGiven"),
            sessions=(*STAGE_CHANGES, "SessionHalted", *CASE_EVENTS),
            aftercare=("CheckInMissed",),
        ),
        Consumes(REGISTRY, sessions=("PractitionerRegistered",)),
        from_hub(qualifications=True),
    )

    schema: str
    service: Callable[[], RiskService]

    def __post_init__(self) -> None:
        self.directory = CaseDirectory(self.schema)
        self.keep_trust(self.schema, registry=True)

    async def on_hub(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """The trust model (and registry), and a rule pack the agency adopted: its standing
        decisions judged by it from the adoption on."""
        await super().on_hub(conn, event)
        if event.event_type == "RulePackAdopted":
            shortened = await self.service().adopt_rule_pack(event)
            log.info("risk.rule_pack_adopted", cause=str(event.event_id), shortened=shortened)

    async def on_registry(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.registry.apply(conn, [event])

    async def on_triggers(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        trigger = await self._trigger(conn, event)
        if trigger is None:
            return
        result = await self.service().mark_due(event.case_id, trigger, event)
        if result.events:
            log.info(
                "risk.reassessment_due",
                case_id=event.case_id,
                trigger=str(trigger),
                cause=str(event.event_id),
            )

    async def _trigger(
        self, conn: asyncpg.Connection, event: RecordedEvent
    ) -> ReassessmentTrigger | None:
        kind = (event.service, event.event_type)
        if event.service == "sessions":
            if event.event_type in STAGE_CHANGES:
                event.decode()  # a malformed contract goes to the dead letters, not through
                return ReassessmentTrigger.CASE_STAGE_CHANGED
            if event.event_type == "SessionHalted":
                halted = event.decode()
                assert isinstance(halted, SessionHalted)
                if halted.cause in SAFETY_HALTS:
                    return ReassessmentTrigger.SESSION_HALTED_FOR_SAFETY
                return None
            # The case's agency and members: access to its risk record is decided on them.
            await self.directory.apply(conn, event)
            return None
        if kind == ("aftercare", "CheckInMissed"):
            missed = event.decode()
            assert isinstance(missed, CheckInMissed)
            if missed.participant_role is PlanRole.RESPONSIBLE_PERSON:
                return ReassessmentTrigger.RESPONSIBLE_PERSON_CHECK_IN_MISSED
            return None
        if event.service == "consent":
            if event.event_type in _CONSENT_LOST:
                await self._consent_lost(conn, event)
            elif event.event_type == "ConsentGiven":
                return await self._consent_given(conn, event)
        return None

    async def _consent_lost(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        lost = event.decode()  # a withdrawal's reason stays sealed and is never kept here
        assert isinstance(lost, ConsentWithdrawn | ConsentInvalidated)
        await conn.executemany(
            f"INSERT INTO {self.schema}.consent_lost (case_id, participant_id, scope, lost_by, "
            f"lost_event_id, lost_at) VALUES ($1, $2, $3, $4, $5, $6) "
            f"ON CONFLICT (case_id, participant_id, scope) DO UPDATE SET "
            f"lost_by = EXCLUDED.lost_by, lost_event_id = EXCLUDED.lost_event_id, "
            f"lost_at = EXCLUDED.lost_at",
            [
                (
                    event.case_id,
                    lost.participant_id,
                    g.scope,
                    event.event_type,
                    event.event_id,
                    event.metadata.occurred_at,
                )
                for g in lost.grants
            ],
        )

    async def _consent_given(
        self, conn: asyncpg.Connection, event: RecordedEvent
    ) -> ReassessmentTrigger | None:
        given = event.decode()
        assert isinstance(given, ConsentGiven)
        # Consumed with the regrant, in the inbox transaction: a later renewal of the same
        # scope without a withdrawal in between is no trigger.
        regranted = await conn.fetchval(
            f"DELETE FROM {self.schema}.consent_lost WHERE case_id = $1 AND participant_id = $2 "
            f"AND scope = $3 RETURNING true",
            event.case_id,
            given.participant_id,
            given.scope,
        )
        return ReassessmentTrigger.CONSENT_REGRANTED if regranted else None
