"""What other code asks of a risk record: the governing decision, the forms it permits, unresolved
flags, whether a reassessment is due, what a decision may not say. Pure."""

from __future__ import annotations

from datetime import datetime

from mend_events import rules
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    FactorKind,
    FactorStatus,
    PermittedForm,
    RiskAssessmentCompleted,
    RiskDecision,
    RiskFactor,
    Severity,
)
from mend_events.contracts.vocabulary import ContactForm

from mend_risk.domain.forms import MEETINGS, possible_involvement, usual_involvement
from mend_risk.domain.state import Assessment, Flag, RiskState

# -------------------------------------------------------------------------------------- queries


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


# The decision rules of the pack in force for an agency that adopted none (what the code held
# before rule packs): used when a completion arrives without a pack, as in the domain's tests.
DEFAULT_DECISIONS = rules.parse_ref(rules.DEFAULT_REF).decisions


def decision_problem(
    decision: RiskDecision,
    forms: tuple[PermittedForm, ...],
    factors: tuple[RiskFactor, ...],
    pack: rules.DecisionRules = DEFAULT_DECISIONS,
    rule_pack: str | None = None,
) -> str | None:
    """Why a decision may not permit these forms given the recorded factors and the decision
    rules of the pack in force (`rule_pack` names it in the reason), or None."""
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
        allowed = pack.indirect_only_with_responsible_person
        if decision is RiskDecision.INDIRECT_ONLY and permitted.form not in allowed:
            under = f" under rule pack {rule_pack}" if rule_pack else ""
            return (
                f"{permitted.form} with the responsible person is not among the forms an "
                f"indirect-only decision permits{under} ({', '.join(allowed) or 'none'})"
            )
        blocker = legal_blocker(factors, pack.legal_restrictions)
        if blocker:
            return f"{permitted.form} with the responsible person is ruled out: {blocker}"
    return None


def legal_blocker(
    factors: tuple[RiskFactor, ...],
    restrictions: tuple[FactorKind, ...] = DEFAULT_DECISIONS.legal_restrictions,
) -> str | None:
    """What forbids contact with the responsible person in law (the pack's list of legal
    restrictions), or None. An order that is not recorded or whose existence is unknown blocks
    too: a breach harms everyone involved."""
    for kind in restrictions:
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
