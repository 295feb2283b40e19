"""The risk service's read model: each case's risk position, with enough history to answer for
any moment. A row per assessment (started, completed, decision, validity), the forms each
completion permits, every flag with when it was raised and resolved, every due reassessment
with the completion that answered it, and the latest safety plans.

It mirrors `domain.evolve` exactly (the permits query from here must equal a replay of the
stream): a flag raised twice counts once, only the first resolution counts, a trigger is due
once, and a completion answers every reassessment due before it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from mend_events.contracts.catalog.risk import (
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecisionRevalidated,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
    SafetyPlanAgreed,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store.projection import OwnTables

_TABLES = (
    "risk_assessments",
    "risk_permitted_forms",
    "risk_flags",
    "risk_reassessments",
    "risk_safety_plans",
)


def _standing_at(began: str, ended: str) -> str:
    """SQL for "the row stands at the moment $2": it began by then and had not yet ended (an end
    at $2 itself counts as ended). `Flag.stands_at`'s rule, kept in one place for flags, open
    assessments and due reassessments alike."""
    return f"{began} <= $2 AND ({ended} IS NULL OR $2 < {ended})"


# What stands at a moment, by kind: its table, its columns, the columns it begins and ends
# by, and its order. The open assessment: the latest begun and not completed; flags raised and
# not resolved (as `Flag.stands_at`); reassessments due and not answered.
_STANDING = {
    "open_assessment": (
        "risk_assessments",
        "assessment_id, stage, started_at",
        ("started_at", "completed_at"),
        "started_at DESC LIMIT 1",
    ),
    "flags": (
        "risk_flags",
        "flag_id, severity, category, affects, raised_by, raised_at",
        ("raised_at", "resolved_at"),
        "raised_at, flag_id",
    ),
    "reassessments": (
        "risk_reassessments",
        "trigger, trigger_event_id, due_since",
        ("due_since", "answered_at"),
        "due_since, trigger_event_id",
    ),
}


class RiskPositions(OwnTables):
    name = "risk_position"
    tables = _TABLES

    # --- writing ------------------------------------------------------------------------------

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        for e in events:
            handler = _HANDLERS.get(e.event_type)
            if handler is not None:
                await handler(self, conn, e)

    async def _started(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        event = e.decode()
        assert isinstance(event, RiskAssessmentStarted)
        await conn.execute(
            f"INSERT INTO {self.schema}.risk_assessments (case_id, assessment_id, stage, "
            f"started_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            e.stream_id,
            event.assessment_id,
            str(event.stage),
            e.metadata.occurred_at,
        )

    async def _revalidated(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        # The adoption moment is never after the new validity (the domain's rule), so one
        # column still answers "current at any moment": before the adoption both ends agree.
        event = e.decode()
        assert isinstance(event, RiskDecisionRevalidated)
        await conn.execute(
            f"UPDATE {self.schema}.risk_assessments SET valid_until = least(valid_until, $3) "
            f"WHERE case_id = $1 AND assessment_id = $2",
            e.stream_id,
            event.assessment_id,
            event.valid_until,
        )

    async def _completed(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        event = e.decode()
        assert isinstance(event, RiskAssessmentCompleted)
        at = e.metadata.occurred_at
        found = await conn.fetchval(
            f"UPDATE {self.schema}.risk_assessments SET completed_at = $3, "
            f"completed_position = $4, decision = $5, reasons = $6, signed_off_by = $7, "
            f"valid_until = $8 WHERE case_id = $1 AND assessment_id = $2 RETURNING true",
            e.stream_id,
            event.assessment_id,
            at,
            e.global_position,
            str(event.decision),
            [str(r) for r in event.reasons],
            event.signed_off_by,
            event.valid_until,
        )
        if not found:
            return  # evolve ignores a completion of an assessment it does not know
        await conn.execute(
            f"DELETE FROM {self.schema}.risk_permitted_forms WHERE case_id = $1 "
            f"AND assessment_id = $2",
            e.stream_id,
            event.assessment_id,
        )
        await conn.executemany(
            f"INSERT INTO {self.schema}.risk_permitted_forms (case_id, assessment_id, form, "
            f"with_responsible_person) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [
                (e.stream_id, event.assessment_id, str(p.form), p.with_responsible_person)
                for p in event.permitted_forms
            ],
        )
        # A completed assessment answers every reassessment due before it.
        await conn.execute(
            f"UPDATE {self.schema}.risk_reassessments SET answered_at = $2, answered_by = $3 "
            f"WHERE case_id = $1 AND answered_at IS NULL",
            e.stream_id,
            at,
            event.assessment_id,
        )

    async def _plan(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        plan = e.decode()
        assert isinstance(plan, SafetyPlanAgreed)
        await conn.execute(
            f"INSERT INTO {self.schema}.risk_safety_plans (case_id, assessment_id, agreed_with, "
            f"separate_arrival_departure, support_person_present, breaks, exit_plan, "
            f"code_word_set, agreed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            f"ON CONFLICT (case_id, assessment_id, agreed_with) DO UPDATE SET "
            f"separate_arrival_departure = EXCLUDED.separate_arrival_departure, "
            f"support_person_present = EXCLUDED.support_person_present, "
            f"breaks = EXCLUDED.breaks, exit_plan = EXCLUDED.exit_plan, "
            f"code_word_set = EXCLUDED.code_word_set, agreed_at = EXCLUDED.agreed_at",
            e.stream_id,
            plan.assessment_id,
            plan.agreed_with,
            plan.separate_arrival_departure,
            plan.support_person_present,
            plan.breaks,
            plan.exit_plan,
            plan.code_word_set,
            e.metadata.occurred_at,
        )

    async def _raised(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        flag = e.decode()
        assert isinstance(flag, RiskFlagRaised)
        await conn.execute(
            f"INSERT INTO {self.schema}.risk_flags (case_id, flag_id, severity, category, "
            f"affects, raised_by, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            f"ON CONFLICT DO NOTHING",
            e.stream_id,
            flag.flag_id,
            str(flag.severity),
            str(flag.category),
            flag.affects,
            e.metadata.actor_id,
            e.metadata.occurred_at,
        )

    async def _resolved(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        resolved = e.decode()  # the note stays sealed; only the reason code is kept
        assert isinstance(resolved, RiskFlagResolved)
        await conn.execute(
            f"UPDATE {self.schema}.risk_flags SET resolved_by = $3, resolved_at = $4, "
            f"resolution = $5 WHERE case_id = $1 AND flag_id = $2 AND resolved_at IS NULL",
            e.stream_id,
            resolved.flag_id,
            e.metadata.actor_id,
            e.metadata.occurred_at,
            str(resolved.reason),
        )

    async def _due(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        due = e.decode()
        assert isinstance(due, RiskReassessmentDue)
        await conn.execute(
            f"INSERT INTO {self.schema}.risk_reassessments (case_id, trigger_event_id, "
            f"trigger, due_since) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            e.stream_id,
            due.trigger_event_id,
            str(due.trigger),
            e.metadata.occurred_at,
        )

    # --- reading (every query answers as of a moment `at`) --------------------------------------

    async def latest_completed(
        self, conn: asyncpg.Connection, case_id: str, at: datetime
    ) -> asyncpg.Record | None:
        """The last assessment completed by `at`, of either stage (as `domain.latest_completed`),
        with the forms it permits as an array of `form:true|false`."""
        return await conn.fetchrow(
            f"SELECT a.assessment_id, a.stage, a.decision, a.reasons, a.signed_off_by, "
            f"a.completed_at, a.valid_until, coalesce(array(SELECT f.form || ':' || "
            f"f.with_responsible_person FROM {self.schema}.risk_permitted_forms f "
            f"WHERE f.case_id = a.case_id AND f.assessment_id = a.assessment_id "
            f"ORDER BY f.form, f.with_responsible_person), '{{}}') AS forms "
            f"FROM {self.schema}.risk_assessments a WHERE a.case_id = $1 "
            f"AND a.completed_at IS NOT NULL AND a.completed_at <= $2 "
            f"ORDER BY a.completed_position DESC LIMIT 1",
            case_id,
            at,
        )

    async def standing(
        self, conn: asyncpg.Connection, what: str, case_id: str, at: datetime
    ) -> list[asyncpg.Record]:
        """The case's `what` (a kind of `_STANDING`) standing at `at`, in its order."""
        table, columns, (began, ended), order = _STANDING[what]
        return await conn.fetch(
            f"SELECT {columns} FROM {self.schema}.{table} "
            f"WHERE case_id = $1 AND {_standing_at(began, ended)} ORDER BY {order}",
            case_id,
            at,
        )

    async def safety_plans(
        self, conn: asyncpg.Connection, case_id: str, agreed_with: str | None
    ) -> list[asyncpg.Record]:
        return await conn.fetch(
            f"SELECT assessment_id, agreed_with, separate_arrival_departure, "
            f"support_person_present, breaks, exit_plan, code_word_set, agreed_at "
            f"FROM {self.schema}.risk_safety_plans WHERE case_id = $1 "
            f"AND ($2::text IS NULL OR agreed_with = $2) ORDER BY agreed_at, assessment_id",
            case_id,
            agreed_with,
        )

    async def stream_head(self, conn: asyncpg.Connection, case_id: str) -> int | None:
        """The global position of the case's last event in the store (None: no event yet)."""
        return await conn.fetchval(
            f"SELECT global_position FROM {self.schema}.events "
            f"WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1",
            case_id,
        )

    async def cases_decided_until_after(
        self, conn: asyncpg.Connection, agency: str, at: datetime
    ) -> list[str]:
        """The cases of `agency` holding a completed assessment still valid after `at`."""
        rows = await conn.fetch(
            f"SELECT DISTINCT a.case_id FROM {self.schema}.risk_assessments a "
            f"JOIN {self.schema}.case_directory c USING (case_id) "
            f"WHERE c.agency = $1 AND a.valid_until > $2 ORDER BY a.case_id",
            agency,
            at,
        )
        return [r["case_id"] for r in rows]

    async def position(self, conn: asyncpg.Connection) -> int:
        value = await conn.fetchval(
            f"SELECT position FROM {self.schema}.projection_tracking WHERE projection = $1",
            self.name,
        )
        return int(value or 0)


_HANDLERS = {
    "RiskAssessmentStarted": RiskPositions._started,
    "RiskAssessmentCompleted": RiskPositions._completed,
    "RiskDecisionRevalidated": RiskPositions._revalidated,
    "SafetyPlanAgreed": RiskPositions._plan,
    "RiskFlagRaised": RiskPositions._raised,
    "RiskFlagResolved": RiskPositions._resolved,
    "RiskReassessmentDue": RiskPositions._due,
}
