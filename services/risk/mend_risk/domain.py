"""The risk service's pure domain. One stream per case (stream id = case id) holding its
assessments, safety plans, flags and due reassessments; `decide` and `evolve`; and the queries
other code relies on, above all `permits` (the risk half of gate R4). No I/O, no clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from mend_events.catalog.risk import (
    LEGAL_RESTRICTIONS,
    AssessmentStage,
    FactorStatus,
    PermittedForm,
    ReassessmentTrigger,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecision,
    RiskFactor,
    RiskFactorRecorded,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
    SafetyPlanAgreed,
    Severity,
)
from mend_events.contracts import DomainEvent
from mend_events.decider import CommandContext, Decider
from mend_events.envelope import Metadata
from mend_events.errors import Forbidden, Rejected
from mend_events.identity_types import Role
from mend_events.vocabulary import ContactForm

from mend_risk.commands import (
    AgreeSafetyPlan,
    CompleteRiskAssessment,
    MarkReassessmentDue,
    RaiseRiskFlag,
    RecordRiskFactor,
    ResolveRiskFlag,
    StartRiskAssessment,
)
from mend_risk.forms import MEETINGS, possible_involvement, usual_involvement

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


# -------------------------------------------------------------------------------------- queries


def find_assessment(state: RiskState, assessment_id: UUID) -> Assessment | None:
    return next((a for a in state.assessments if a.assessment_id == assessment_id), None)


def open_assessment(state: RiskState) -> Assessment | None:
    return next((a for a in state.assessments if a.completion is None), None)


def latest_completed(state: RiskState, at: datetime | None = None) -> Assessment | None:
    """The last assessment completed (as of `at`, when given)."""
    done = [
        a
        for a in state.assessments
        if a.completed_at is not None and (at is None or a.completed_at <= _aware(at))
    ]
    return done[-1] if done else None


def governing_decision(state: RiskState, at: datetime) -> RiskAssessmentCompleted | None:
    """The decision that governs contact at `at`: that of the latest assessment completed by then,
    if it was a full one and is not stale. Contact needs a full assessment (the facilitator has
    met each party); an initial one only decides suitability."""
    latest = latest_completed(state, _aware(at))
    if latest is None or latest.completion is None or latest.stage is not AssessmentStage.FULL:
        return None
    if _aware(at) >= latest.completion.valid_until:
        return None  # stale: permits nothing until reassessed
    return latest.completion


def permitted_forms(state: RiskState, at: datetime) -> frozenset[PermittedForm]:
    decision = governing_decision(state, at)
    return frozenset(decision.permitted_forms) if decision else frozenset()


def permits(
    state: RiskState,
    form: ContactForm,
    at: datetime,
    *,
    with_responsible_person: bool | None = None,
) -> bool:
    """Whether risk permits `form` at `at`. Say whether the responsible person takes part for a
    conference or circle; left out, the riskier reading (with them) is asked, and for forms whose
    involvement is fixed (face-to-face, letter, indirect with them; unsent letter, story-telling
    without) the form's own. A combination that cannot exist (an unsent letter with them, a
    letter without them) is never permitted. Flags and due reassessments are separate queries."""
    involved = with_responsible_person
    if involved is None:
        involved = usual_involvement(form)
    if not possible_involvement(form, involved):
        return False
    return any(
        p.form == form and p.with_responsible_person is involved for p in permitted_forms(state, at)
    )


def unresolved_flags(state: RiskState, at: datetime | None = None) -> tuple[Flag, ...]:
    at = None if at is None else _aware(at)
    return tuple(f for f in state.flags if f.stands_at(at))


def unresolved_severe_flags(state: RiskState, at: datetime | None = None) -> tuple[Flag, ...]:
    """A severe flag halts affected contact at once (R5); the sessions service acts on it."""
    return tuple(f for f in unresolved_flags(state, at) if f.raised.severity is Severity.SEVERE)


def reassessment_due(state: RiskState) -> bool:
    """True from a trigger until an assessment is completed after it."""
    return bool(state.pending_reassessments)


def decision_problem(
    decision: RiskDecision, forms: tuple[PermittedForm, ...], factors: tuple[RiskFactor, ...]
) -> str | None:
    """Why a decision may not permit these forms given the recorded factors, or None."""
    if decision is RiskDecision.DO_NOT_PROCEED and forms:
        return "a decision not to proceed permits no contact form"
    if decision is RiskDecision.UNSENT_LETTER_ONLY:
        unsent = PermittedForm(form=ContactForm.UNSENT_LETTER, with_responsible_person=False)
        if forms != (unsent,):
            return "an unsent-letter-only decision permits exactly one form: unsent_letter"
        return None
    if decision is not RiskDecision.DO_NOT_PROCEED and not forms:
        return f"a decision to {decision.value.replace('_', ' ')} names the forms it permits"
    for permitted in forms:
        if not permitted.with_responsible_person:
            continue
        if decision is RiskDecision.INDIRECT_ONLY and permitted.form in MEETINGS:
            return (
                f"{permitted.form} with the responsible person is direct contact, "
                "which an indirect-only decision rules out"
            )
        blocker = legal_blocker(factors)
        if blocker:
            return f"{permitted.form} with the responsible person is ruled out: {blocker}"
    return None


def legal_blocker(factors: tuple[RiskFactor, ...]) -> str | None:
    """What forbids contact with the responsible person in law, or None. An order that is not
    recorded or whose existence is unknown blocks too: a breach harms everyone involved."""
    for kind in LEGAL_RESTRICTIONS:
        label = kind.value.replace("_", " ")
        records = [f for f in factors if f.kind is kind]
        if not records:
            return f"no {label} check is recorded (record it absent, or present with a carve-out)"
        for factor in records:
            if factor.status is FactorStatus.UNKNOWN:
                return f"whether a {label} stands is unknown"
            if factor.status is FactorStatus.PRESENT and not factor.carve_out:
                return f"a {label} stands with no carve-out for restorative contact"
    return None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a moment in time must carry its timezone")
    return at


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
    if ctx.actor.role is not Role.PRACTITIONER:
        raise Forbidden("only a practitioner may record risk assessments, safety plans and flags")
    match command:
        case StartRiskAssessment():
            return _start(state, command)
        case RecordRiskFactor():
            return _record_factor(state, command)
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


def _complete(
    policy: RiskPolicy, state: RiskState, cmd: CompleteRiskAssessment, ctx: CommandContext
) -> list[DomainEvent]:
    assessment = _still_open(state, cmd.assessment_id)
    if cmd.signed_off_by is None:
        raise Rejected("a specialist must sign the decision off", field="signed_off_by")
    problem = decision_problem(cmd.decision, cmd.permitted_forms, assessment.factors)
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
        )
    ]


def _agree_plan(state: RiskState, cmd: AgreeSafetyPlan) -> list[DomainEvent]:
    if find_assessment(state, cmd.assessment_id) is None:
        raise Rejected("no such assessment in this case", field="assessment_id")
    plan = SafetyPlanAgreed(**cmd.model_dump())
    return [] if plan in state.safety_plans else [plan]


def _find_flag(state: RiskState, flag_id: UUID) -> Flag | None:
    return next((f for f in state.flags if f.raised.flag_id == flag_id), None)


def _raise_flag(state: RiskState, cmd: RaiseRiskFlag) -> list[DomainEvent]:
    """A flag makes a reassessment due at once: both facts come from one decision, so neither
    is ever recorded without the other. The flag's id names the trigger."""
    event = RiskFlagRaised(**cmd.model_dump())
    existing = _find_flag(state, cmd.flag_id)
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
    flag = _find_flag(state, cmd.flag_id)
    if flag is None:
        raise Rejected("no such flag in this case", field="flag_id")
    if flag.resolved_at is not None:
        raise Rejected("this flag is already resolved", field="flag_id")
    owner = (flag.raised.affects or state.case_id) if cmd.note is not None else None
    return [
        RiskFlagResolved(flag_id=cmd.flag_id, reason=cmd.reason, note=cmd.note, note_owner=owner)
    ]


def _mark_due(state: RiskState, cmd: MarkReassessmentDue, ctx: CommandContext) -> list[DomainEvent]:
    if ctx.actor.role is not Role.SYSTEM:
        raise Forbidden("reassessment triggers come from the service's reactions")
    if cmd.trigger_event_id in state.seen_triggers:
        return []  # the same trigger delivered again
    return [RiskReassessmentDue(trigger=cmd.trigger, trigger_event_id=cmd.trigger_event_id)]


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
        case SafetyPlanAgreed():
            others = tuple(p for p in state.safety_plans if _plan_key(p) != _plan_key(event))
            return replace(state, safety_plans=(*others, event))
        case RiskFlagRaised():
            if _find_flag(state, event.flag_id) is not None:
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


decider = make_decider()
