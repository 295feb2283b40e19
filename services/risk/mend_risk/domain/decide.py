"""Risk decisions (R4, R5): `decide` and `make_decider`, with the validity policy. Pure; `now`
comes from the command context."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    ReassessmentTrigger,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecisionRevalidated,
    RiskFactorRecorded,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
    SafetyPlanAgreed,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, Rejected
from mend_events.rules import DecisionRules

from mend_risk.commands import (
    AgreeSafetyPlan,
    CompleteRiskAssessment,
    MarkReassessmentDue,
    RaiseRiskFlag,
    RecordRiskFactor,
    ResolveRiskFlag,
    RevalidateUnderRulePack,
    StartRiskAssessment,
    UnderRulePack,
)
from mend_risk.domain.indicator import missing_factors
from mend_risk.domain.queries import (
    DEFAULT_DECISIONS,
    decision_problem,
    latest_completed,
    open_assessment,
)
from mend_risk.domain.state import (
    Assessment,
    RiskPolicy,
    RiskState,
    evolve,
    find_assessment,
    find_flag,
    initial,
)

# --------------------------------------------------------------------------------------- decide


def make_decider(policy: RiskPolicy | None = None) -> Decider[RiskState]:
    policy = policy or RiskPolicy()

    def decide(state: RiskState, command: object, ctx: CommandContext) -> list[DomainEvent]:
        return _decide(policy, state, command, ctx)

    return Decider(initial=initial, evolve=evolve, decide=decide)


def _decide(
    policy: RiskPolicy, state: RiskState, command: object, ctx: CommandContext
) -> list[DomainEvent]:
    if isinstance(command, MarkReassessmentDue):
        return _mark_due(state, command, ctx)
    if isinstance(command, RevalidateUnderRulePack):
        return _revalidate(state, command, ctx)
    if ctx.actor.role is not Role.PRACTITIONER:
        raise Forbidden("only a practitioner may record risk assessments, safety plans and flags")
    match command:
        case StartRiskAssessment():
            return _start(state, command)
        case RecordRiskFactor():
            return _record_factor(state, command)
        case UnderRulePack():
            pack = RiskPolicy(command.default_validity_days, command.max_validity_days)
            _require_factors(state, command)
            return _complete(
                pack, state, command.command, ctx, command.rule_pack, command.decisions
            )
        case CompleteRiskAssessment():
            return _complete(policy, state, command, ctx)
        case AgreeSafetyPlan():
            return _agree_plan(state, command)
        case RaiseRiskFlag():
            return _raise_flag(state, command)
        case ResolveRiskFlag():
            return _resolve_flag(state, command)
    raise TypeError(f"not a risk command: {type(command).__name__}")


def _start(state: RiskState, cmd: StartRiskAssessment) -> list[DomainEvent]:
    existing = find_assessment(state, cmd.assessment_id)
    if existing is not None:
        if existing.completion is None and existing.stage is cmd.stage:
            return []  # a retry of the same start
        raise Rejected("this assessment id is already used", field="assessment_id")
    current = open_assessment(state)
    if current is not None:
        raise Rejected(
            f"assessment {current.assessment_id} is still open: complete it first",
            field="assessment_id",
        )
    return [RiskAssessmentStarted(assessment_id=cmd.assessment_id, stage=cmd.stage)]


def _still_open(state: RiskState, assessment_id: UUID) -> Assessment:
    assessment = find_assessment(state, assessment_id)
    if assessment is None:
        raise Rejected("no such assessment in this case", field="assessment_id")
    if assessment.completion is not None:
        raise Rejected(
            "this assessment is completed; start a new assessment to record changes",
            field="assessment_id",
        )
    return assessment


def _record_factor(state: RiskState, cmd: RecordRiskFactor) -> list[DomainEvent]:
    assessment = _still_open(state, cmd.assessment_id)
    if cmd.factor in assessment.factors:
        return []  # already recorded exactly so
    return [RiskFactorRecorded(assessment_id=cmd.assessment_id, factor=cmd.factor)]


def _require_factors(state: RiskState, command: UnderRulePack) -> None:
    """A full assessment records the kinds the pack requires before it is completed (present,
    absent or unknown: looked at, whatever was found)."""
    assessment = find_assessment(state, command.command.assessment_id)
    if command.factors is None or assessment is None or assessment.completion is not None:
        return  # nothing required, or `_complete` refuses it for what it is
    if assessment.stage is not AssessmentStage.FULL:
        return
    missing = missing_factors(assessment.factors, command.factors.required)
    if missing:
        kinds = ", ".join(k.value.replace("_", " ") for k in missing)
        raise Rejected(
            f"rule pack {command.rule_pack} asks a full assessment to record {kinds} first "
            "(present, absent or unknown)",
            field="assessment_id",
        )


def _complete(
    policy: RiskPolicy,
    state: RiskState,
    cmd: CompleteRiskAssessment,
    ctx: CommandContext,
    rule_pack: str | None = None,
    decisions: DecisionRules | None = None,
) -> list[DomainEvent]:
    assessment = _still_open(state, cmd.assessment_id)
    if cmd.signed_off_by is None:
        raise Rejected("a specialist must sign the decision off", field="signed_off_by")
    problem = decision_problem(
        cmd.decision,
        cmd.permitted_forms,
        assessment.factors,
        decisions or DEFAULT_DECISIONS,
        rule_pack,
    )
    if problem:
        raise Rejected(problem, field="permitted_forms")
    days = cmd.valid_for_days or policy.default_validity_days
    if days > policy.max_validity_days:
        raise Rejected(
            f"an assessment stays valid for at most {policy.max_validity_days} days",
            field="valid_for_days",
        )
    return [
        RiskAssessmentCompleted(
            assessment_id=cmd.assessment_id,
            decision=cmd.decision,
            permitted_forms=cmd.permitted_forms,
            reasons=cmd.reasons,
            signed_off_by=cmd.signed_off_by,
            valid_until=ctx.now + timedelta(days=days),
            rule_pack=rule_pack,
        )
    ]


def _agree_plan(state: RiskState, cmd: AgreeSafetyPlan) -> list[DomainEvent]:
    if find_assessment(state, cmd.assessment_id) is None:
        raise Rejected("no such assessment in this case", field="assessment_id")
    plan = SafetyPlanAgreed(**cmd.model_dump())
    return [] if plan in state.safety_plans else [plan]


def _raise_flag(state: RiskState, cmd: RaiseRiskFlag) -> list[DomainEvent]:
    """A flag makes a reassessment due at once: both facts come from one decision, so neither
    is ever recorded without the other. The flag's id names the trigger."""
    event = RiskFlagRaised(**cmd.model_dump())
    existing = find_flag(state, cmd.flag_id)
    if existing is None:
        if cmd.flag_id in state.seen_triggers:
            return [event]
        due = RiskReassessmentDue(
            trigger=ReassessmentTrigger.RISK_FLAG_RAISED, trigger_event_id=cmd.flag_id
        )
        return [event, due]
    if existing.raised == event:
        return []  # a retry of the same flag
    raise Rejected("this flag id is already used by another flag", field="flag_id")


def _resolve_flag(state: RiskState, cmd: ResolveRiskFlag) -> list[DomainEvent]:
    flag = find_flag(state, cmd.flag_id)
    if flag is None:
        raise Rejected("no such flag in this case", field="flag_id")
    if flag.resolved_at is not None:
        raise Rejected("this flag is already resolved", field="flag_id")
    owner = (flag.raised.affects or state.case_id) if cmd.note is not None else None
    return [
        RiskFlagResolved(flag_id=cmd.flag_id, reason=cmd.reason, note=cmd.note, note_owner=owner)
    ]


def _revalidate(
    state: RiskState, cmd: RevalidateUnderRulePack, ctx: CommandContext
) -> list[DomainEvent]:
    """The latest decision (the one that governs) judged by the new pack from now on: valid
    until its completion plus the pack's longest validity, or until now if that has passed;
    never later than it was. Nothing when it was stale already or the pack allows as long."""
    if ctx.actor.role is not Role.SYSTEM:
        raise Forbidden("a rule pack is applied by the service's reactions")
    latest = latest_completed(state)
    if latest is None or latest.completion is None or latest.completed_at is None:
        return []
    until = latest.completion.valid_until
    judged = max(latest.completed_at + timedelta(days=cmd.max_validity_days), ctx.now)
    if until <= ctx.now or judged >= until:
        return []
    return [
        RiskDecisionRevalidated(
            assessment_id=latest.assessment_id, valid_until=judged, rule_pack=cmd.rule_pack
        )
    ]


def _mark_due(state: RiskState, cmd: MarkReassessmentDue, ctx: CommandContext) -> list[DomainEvent]:
    if ctx.actor.role is not Role.SYSTEM:
        raise Forbidden("reassessment triggers come from the service's reactions")
    if cmd.trigger_event_id in state.seen_triggers:
        return []  # the same trigger delivered again
    return [RiskReassessmentDue(trigger=cmd.trigger, trigger_event_id=cmd.trigger_event_id)]


decider = make_decider()
