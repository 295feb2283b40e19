"""The risk record of one case and its fold (`evolve`): assessments, flags, safety plans and the
reassessments due. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    ReassessmentTrigger,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecisionRevalidated,
    RiskFactor,
    RiskFactorRecorded,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
    SafetyPlanAgreed,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent

# ---------------------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Service configuration the decisions depend on. A decision stores its absolute
    `valid_until`, so changing these never changes the past on replay."""

    default_validity_days: int = 90
    max_validity_days: int = 180


@dataclass(frozen=True, slots=True)
class Assessment:
    assessment_id: UUID
    stage: AssessmentStage
    started_at: datetime
    factors: tuple[RiskFactor, ...] = ()  # one per (kind, concerns); the latest record wins
    completion: RiskAssessmentCompleted | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    raised: RiskFlagRaised
    raised_by: str
    raised_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    def stands_at(self, at: datetime | None) -> bool:
        if at is None:
            return self.resolved_at is None
        return self.raised_at <= at and (self.resolved_at is None or at < self.resolved_at)


@dataclass(frozen=True, slots=True)
class PendingReassessment:
    trigger: ReassessmentTrigger
    trigger_event_id: UUID
    due_since: datetime


@dataclass(frozen=True, slots=True)
class RiskState:
    case_id: str
    assessments: tuple[Assessment, ...] = ()  # in the order they were started
    safety_plans: tuple[SafetyPlanAgreed, ...] = ()  # the latest per (assessment, person)
    flags: tuple[Flag, ...] = ()
    pending_reassessments: tuple[PendingReassessment, ...] = ()
    # Every trigger ever seen, kept for good so a redelivery never makes a reassessment due twice.
    seen_triggers: frozenset[UUID] = frozenset()


def initial(case_id: str) -> RiskState:
    return RiskState(case_id=case_id)


def find_assessment(state: RiskState, assessment_id: UUID) -> Assessment | None:
    return next((a for a in state.assessments if a.assessment_id == assessment_id), None)


def find_flag(state: RiskState, flag_id: UUID) -> Flag | None:
    return next((f for f in state.flags if f.raised.flag_id == flag_id), None)


# --------------------------------------------------------------------------------------- evolve


def evolve(state: RiskState, event: DomainEvent, meta: Metadata) -> RiskState:
    """Never raises for a stored event: anything it cannot place leaves the state as it is."""
    at = meta.occurred_at
    match event:
        case RiskAssessmentStarted():
            started = Assessment(event.assessment_id, event.stage, started_at=at)
            return replace(state, assessments=(*state.assessments, started))
        case RiskFactorRecorded():
            return _update_assessment(
                state, event.assessment_id, lambda a: replace(a, factors=_upsert(a, event.factor))
            )
        case RiskAssessmentCompleted():
            done = _update_assessment(
                state, event.assessment_id, lambda a: replace(a, completion=event, completed_at=at)
            )
            # A completed assessment answers every trigger that came before it.
            return replace(done, pending_reassessments=()) if done is not state else state
        case RiskDecisionRevalidated():
            return _update_assessment(state, event.assessment_id, lambda a: _revalidated(a, event))
        case SafetyPlanAgreed():
            others = tuple(p for p in state.safety_plans if _plan_key(p) != _plan_key(event))
            return replace(state, safety_plans=(*others, event))
        case RiskFlagRaised():
            if find_flag(state, event.flag_id) is not None:
                return state
            flag = Flag(raised=event, raised_by=meta.actor_id, raised_at=at)
            return replace(state, flags=(*state.flags, flag))
        case RiskFlagResolved():
            return replace(state, flags=tuple(_resolve(f, event, meta) for f in state.flags))
        case RiskReassessmentDue():
            if event.trigger_event_id in state.seen_triggers:
                return state
            due = PendingReassessment(event.trigger, event.trigger_event_id, due_since=at)
            return replace(
                state,
                pending_reassessments=(*state.pending_reassessments, due),
                seen_triggers=state.seen_triggers | {event.trigger_event_id},
            )
    return state


def _update_assessment(
    state: RiskState, assessment_id: UUID, change: Callable[[Assessment], Assessment]
) -> RiskState:
    if find_assessment(state, assessment_id) is None:
        return state
    return replace(
        state,
        assessments=tuple(
            change(a) if a.assessment_id == assessment_id else a for a in state.assessments
        ),
    )


def _upsert(assessment: Assessment, factor: RiskFactor) -> tuple[RiskFactor, ...]:
    kept = tuple(f for f in assessment.factors if f.key != factor.key)
    return (*kept, factor)


def _plan_key(plan: SafetyPlanAgreed) -> tuple[UUID, str]:
    return (plan.assessment_id, plan.agreed_with)


def _resolve(flag: Flag, event: RiskFlagResolved, meta: Metadata) -> Flag:
    if flag.raised.flag_id != event.flag_id or flag.resolved_at is not None:
        return flag
    return replace(flag, resolved_by=meta.actor_id, resolved_at=meta.occurred_at)


def _revalidated(a: Assessment, event: RiskDecisionRevalidated) -> Assessment:
    """The completion with its validity shortened (never lengthened) by a rule pack."""
    if a.completion is None or event.valid_until >= a.completion.valid_until:
        return a
    return replace(a, completion=a.completion.model_copy(update={"valid_until": event.valid_until}))
