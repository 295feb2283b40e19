"""Views of the consent and risk services' events (tables in migrations/0001_read_models.sql),
written by the reactions with the inbox transaction's `conn`, so a message's rows, its inbox
row and its offset (`consistency.ConsumerPositions`) commit together. Every write is idempotent
and order-tolerant (ended grants stay as tombstones, versions only move forward), so a
redelivery changes nothing. The gate facts (`domain.gates.GateView`) are read from them at
`now`."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

import asyncpg
from mend_events.contracts.catalog.consent import (
    AcknowledgementRecorded,
    AcknowledgementWithdrawn,
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
    ScopeKind,
)
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecisionRevalidated,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
    SafetyPlanAgreed,
    Severity,
)
from mend_events.contracts.catalog.sessions import HaltCause, SafetyArrangements
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.events import DomainEvent

from mend_sessions.domain.forms import (
    FORM_VALUES,
    ConsentLoss,
    ContactForm,
    forms_of_scope,
    touched_forms,
)
from mend_sessions.domain.gates import DueReassessment

# The consent and risk events the views take (the reactions' declared types).
CONSENT_TYPES = frozenset(
    t.event_type
    for t in (
        ConsentGiven,
        ConsentWithdrawn,
        ConsentLapsed,
        ConsentInvalidated,
        AcknowledgementRecorded,
        AcknowledgementWithdrawn,
    )
)
# What takes a gate fact away, and may halt: applied under the case lock.
CONSENT_LOSSES = frozenset(
    t.event_type
    for t in (ConsentWithdrawn, ConsentLapsed, ConsentInvalidated, AcknowledgementWithdrawn)
)
RISK_TYPES = frozenset(
    t.event_type
    for t in (
        RiskAssessmentStarted,
        RiskAssessmentCompleted,
        # A rule pack adopted by the agency shortened a standing decision's validity.
        RiskDecisionRevalidated,
        RiskFlagRaised,
        RiskFlagResolved,
        # Kept in the view only: it closes the risk gate to scheduling and starting until an
        # assessment is completed again, and halts nothing already scheduled or running (a
        # severe flag halts at once; the next start of a scheduled session is refused).
        RiskReassessmentDue,
        # Kept in the view: direct contact waits for a plan agreed with the harmed person.
        SafetyPlanAgreed,
    )
)


class ConsentView:
    """Per case and participant: the consent scopes in force (with expiry) and whether the
    responsible person's acknowledgement stands."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(
        self, conn: asyncpg.Connection, event: RecordedEvent, model: DomainEvent
    ) -> ConsentLoss | None:
        case_id = event.case_id
        match model:
            case ConsentGiven():
                await conn.execute(
                    f"INSERT INTO {self.schema}.consent_grants (case_id, grant_id, "
                    f"participant_id, scope, expires_at) VALUES ($1, $2, $3, $4, $5) "
                    f"ON CONFLICT DO NOTHING",
                    case_id,
                    model.grant_id,
                    model.participant_id,
                    model.scope,
                    model.expires_at,
                )
                return None
            case ConsentWithdrawn() | ConsentInvalidated():
                refs = [(g.grant_id, g.scope) for g in model.grants]
                cause = (
                    HaltCause.CONSENT_WITHDRAWN
                    if isinstance(model, ConsentWithdrawn)
                    else HaltCause.CONSENT_INVALIDATED
                )
            case ConsentLapsed():
                refs = [(model.grant_id, model.scope)]
                cause = HaltCause.CONSENT_LAPSED
            case AcknowledgementRecorded() | AcknowledgementWithdrawn():
                standing = isinstance(model, AcknowledgementRecorded)
                await conn.execute(
                    f"INSERT INTO {self.schema}.acknowledgements AS a (case_id, "
                    f"responsible_person_id, standing, stream_version) VALUES ($1, $2, $3, $4) "
                    f"ON CONFLICT (case_id, responsible_person_id) DO UPDATE SET "
                    f"standing = EXCLUDED.standing, stream_version = EXCLUDED.stream_version "
                    f"WHERE a.stream_version < EXCLUDED.stream_version",
                    case_id,
                    model.responsible_person_id,
                    standing,
                    event.stream_version,
                )
                if standing:
                    return None
                return ConsentLoss(
                    model.responsible_person_id, None, HaltCause.ACKNOWLEDGEMENT_WITHDRAWN
                )
            case _:
                return None
        # An ending: mark each grant ended (a tombstone if we never saw it given).
        await conn.executemany(
            f"INSERT INTO {self.schema}.consent_grants AS g (case_id, grant_id, participant_id, "
            f"scope, ended_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, grant_id) "
            f"DO UPDATE SET ended_by = coalesce(g.ended_by, EXCLUDED.ended_by)",
            [(case_id, gid, model.participant_id, scope, event.event_id) for gid, scope in refs],
        )
        return ConsentLoss(model.participant_id, touched_forms(s for _, s in refs), cause)

    async def covered_forms(
        self, conn: asyncpg.Connection, case_id: str, now: datetime
    ) -> dict[str, frozenset[ContactForm]]:
        """Per participant, the forms their consent covers at `now`: taking part AND the form,
        each given, not ended and not expired."""
        rows = await conn.fetch(
            f"SELECT participant_id, scope FROM {self.schema}.consent_grants "
            f"WHERE case_id = $1 AND ended_by IS NULL AND (expires_at IS NULL OR expires_at > $2)",
            case_id,
            now,
        )
        scopes: dict[str, set[str]] = {}
        for r in rows:
            scopes.setdefault(r["participant_id"], set()).add(r["scope"])
        covered = {}
        for person, held in scopes.items():
            if ScopeKind.TAKE_PART.value not in held:
                continue
            forms: set[ContactForm] = set()
            for scope in held:
                forms |= forms_of_scope(scope) or set()
            covered[person] = frozenset(forms)
        return covered

    async def acknowledged(self, conn: asyncpg.Connection, case_id: str) -> frozenset[str]:
        rows = await conn.fetch(
            f"SELECT responsible_person_id FROM {self.schema}.acknowledgements "
            f"WHERE case_id = $1 AND standing",
            case_id,
        )
        return frozenset(r["responsible_person_id"] for r in rows)


PermittedPair = tuple[ContactForm, bool]  # (form, whether the responsible person takes part)


class RiskView:
    """Per case: the assessments (stage, decision, permitted forms, valid until), the flags and
    the reassessments fallen due."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(
        self, conn: asyncpg.Connection, event: RecordedEvent, model: DomainEvent
    ) -> None:
        case_id = event.case_id
        match model:
            case RiskAssessmentStarted():
                await conn.execute(
                    f"INSERT INTO {self.schema}.risk_assessments AS a (case_id, assessment_id, "
                    f"stage) VALUES ($1, $2, $3) ON CONFLICT (case_id, assessment_id) "
                    f"DO UPDATE SET stage = EXCLUDED.stage",
                    case_id,
                    model.assessment_id,
                    str(model.stage),
                )
            case RiskAssessmentCompleted():
                permitted = [
                    {"form": str(p.form), "with_responsible_person": p.with_responsible_person}
                    for p in model.permitted_forms
                ]
                await conn.execute(
                    f"INSERT INTO {self.schema}.risk_assessments AS a (case_id, assessment_id, "
                    f"completed_version, permitted, valid_until) VALUES ($1, $2, $3, $4, $5) "
                    f"ON CONFLICT (case_id, assessment_id) DO UPDATE SET "
                    f"completed_version = EXCLUDED.completed_version, "
                    f"permitted = EXCLUDED.permitted, valid_until = EXCLUDED.valid_until",
                    case_id,
                    model.assessment_id,
                    event.stream_version,
                    json.dumps(permitted),
                    model.valid_until,
                )
            case RiskDecisionRevalidated():
                # Never later than it was: a revalidation only shortens (and a redelivery
                # writes the same value again).
                await conn.execute(
                    f"UPDATE {self.schema}.risk_assessments SET valid_until = "
                    f"least(valid_until, $3) WHERE case_id = $1 AND assessment_id = $2",
                    case_id,
                    model.assessment_id,
                    model.valid_until,
                )
            case RiskFlagRaised():
                await conn.execute(
                    f"INSERT INTO {self.schema}.risk_flags AS f (case_id, flag_id, severity, "
                    f"raised_event_id) VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, flag_id) "
                    f"DO UPDATE SET severity = EXCLUDED.severity, "
                    f"raised_event_id = coalesce(f.raised_event_id, EXCLUDED.raised_event_id)",
                    case_id,
                    model.flag_id,
                    str(model.severity),
                    event.event_id,
                )
            case RiskFlagResolved():
                await conn.execute(
                    f"INSERT INTO {self.schema}.risk_flags AS f (case_id, flag_id, resolved) "
                    f"VALUES ($1, $2, true) ON CONFLICT (case_id, flag_id) "
                    f"DO UPDATE SET resolved = true",
                    case_id,
                    model.flag_id,
                )
            case SafetyPlanAgreed():
                await self._plan(conn, event, model)
            case RiskReassessmentDue():
                # As the risk domain folds it: a trigger is due once, from its first record.
                await conn.execute(
                    f"INSERT INTO {self.schema}.risk_reassessments_due (case_id, "
                    f"trigger_event_id, trigger, due_version, due_since, due_event_id) "
                    f"VALUES ($1, $2, $3, $4, $5, $6) "
                    f"ON CONFLICT (case_id, trigger_event_id) DO NOTHING",
                    case_id,
                    model.trigger_event_id,
                    str(model.trigger),
                    event.stream_version,
                    event.metadata.occurred_at,
                    event.event_id,
                )

    async def _plan(self, conn: asyncpg.Connection, event: RecordedEvent, plan: SafetyPlanAgreed):
        # The latest plan per person (by stream version): a redelivery writes nothing new.
        await conn.execute(
            f"INSERT INTO {self.schema}.risk_safety_plans AS p (case_id, person_id, "
            f"assessment_id, separate_arrival_departure, support_person_present, breaks, "
            f"stream_version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, "
            f"person_id) DO UPDATE SET assessment_id = EXCLUDED.assessment_id, "
            f"separate_arrival_departure = EXCLUDED.separate_arrival_departure, "
            f"support_person_present = EXCLUDED.support_person_present, "
            f"breaks = EXCLUDED.breaks, stream_version = EXCLUDED.stream_version "
            f"WHERE p.stream_version < EXCLUDED.stream_version",
            event.case_id, plan.agreed_with, plan.assessment_id,
            plan.separate_arrival_departure, plan.support_person_present, plan.breaks,
            event.stream_version,
        )  # fmt: skip

    async def safety_plans(
        self, conn: asyncpg.Connection, case_id: str
    ) -> dict[str, SafetyArrangements]:
        """Per person a safety plan was agreed with: what it asks of a meeting."""
        rows = await conn.fetch(
            f"SELECT person_id, separate_arrival_departure, support_person_present, breaks "
            f"FROM {self.schema}.risk_safety_plans WHERE case_id = $1",
            case_id,
        )
        return {
            r["person_id"]: SafetyArrangements(
                separate_arrival_departure=r["separate_arrival_departure"],
                support_person_present=r["support_person_present"],
                breaks=r["breaks"],
            )
            for r in rows
        }

    async def permitted(
        self, conn: asyncpg.Connection, case_id: str, now: datetime
    ) -> frozenset[PermittedPair]:
        """What the governing decision permits at `now`: that of the latest assessment
        completed, if it was a full one and is not stale (as `mend_risk.domain` reads it);
        nothing otherwise."""
        row = await conn.fetchrow(
            f"SELECT stage, permitted, valid_until FROM {self.schema}.risk_assessments "
            f"WHERE case_id = $1 AND completed_version IS NOT NULL "
            f"ORDER BY completed_version DESC LIMIT 1",
            case_id,
        )
        if row is None or row["stage"] != AssessmentStage.FULL.value:
            return frozenset()
        if row["valid_until"] is None or now >= row["valid_until"]:
            return frozenset()
        pairs = set()
        for p in json.loads(row["permitted"] or "[]"):
            if p.get("form") in FORM_VALUES:
                pairs.add((ContactForm(p["form"]), bool(p.get("with_responsible_person"))))
        return frozenset(pairs)

    async def reassessments_due(
        self, conn: asyncpg.Connection, case_id: str
    ) -> tuple[DueReassessment, ...]:
        """The reassessments due and not answered: recorded after the latest assessment
        completed (by stream version; `mend_risk.domain.evolve` clears every pending one when
        an assessment completes). Whether they had fallen due by `now` is the gate's call."""
        rows = await conn.fetch(
            f"SELECT trigger, due_since FROM {self.schema}.risk_reassessments_due d "
            f"WHERE case_id = $1 AND due_version > coalesce((SELECT max(completed_version) "
            f"FROM {self.schema}.risk_assessments a WHERE a.case_id = $1), 0) "
            f"ORDER BY due_version",
            case_id,
        )
        return tuple(DueReassessment(r["trigger"], r["due_since"]) for r in rows)

    async def severe_flags(self, conn: asyncpg.Connection, case_id: str) -> frozenset[UUID]:
        """Event ids of the severe flags raised and not resolved."""
        rows = await conn.fetch(
            f"SELECT raised_event_id FROM {self.schema}.risk_flags WHERE case_id = $1 "
            f"AND severity = $2 AND NOT resolved AND raised_event_id IS NOT NULL",
            case_id,
            Severity.SEVERE.value,
        )
        return frozenset(r["raised_event_id"] for r in rows)
