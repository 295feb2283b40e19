"""Commands to the risk service (the HTTP request bodies). The actor is never in a body: it comes
from the verified token. Shape errors fail here, naming the field; rules that depend on the
case's history (sign-off, forms a factor rules out, flags resolved twice) are the domain's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    DecisionReason,
    FlagCategory,
    FlagResolution,
    PermittedForm,
    ReassessmentTrigger,
    RiskDecision,
    RiskFactor,
    Severity,
)
from mend_events.rules import DecisionRules, FactorRules
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

# How a list that must not repeat itself is named in the refusal.
_LISTED = {"permitted_forms": "permitted form", "reasons": "reason"}

# The longest validity a request may ask for; the service's policy may allow less.
MAX_VALIDITY_DAYS = 366

ResolutionNote = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartRiskAssessment(_Command):
    assessment_id: UUID  # chosen by the client, so a retried request is recognised
    stage: AssessmentStage


class RecordRiskFactor(_Command):
    assessment_id: UUID
    factor: RiskFactor


class CompleteRiskAssessment(_Command):
    assessment_id: UUID
    decision: RiskDecision
    permitted_forms: tuple[PermittedForm, ...] = ()
    reasons: Annotated[tuple[DecisionReason, ...], Field(min_length=1)]
    # Optional in shape only: the domain refuses a decision nobody signed off, and says why.
    signed_off_by: PseudoId | None = None
    # None: the service's default validity period.
    valid_for_days: Annotated[int, Field(strict=True, ge=1, le=MAX_VALIDITY_DAYS)] | None = None

    @field_validator("permitted_forms", "reasons")
    @classmethod
    def _each_once(cls, value: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"each {_LISTED[info.field_name]} is listed once")
        return value


class AgreeSafetyPlan(_Command):
    assessment_id: UUID
    agreed_with: PseudoId
    separate_arrival_departure: StrictBool
    support_person_present: StrictBool
    breaks: StrictBool
    exit_plan: StrictBool
    # Whether a code word is agreed. There is deliberately no field for the word itself.
    code_word_set: StrictBool


class RaiseRiskFlag(_Command):
    flag_id: UUID
    severity: Severity
    category: FlagCategory
    affects: PseudoId | None = None  # None: the whole case


class ResolveRiskFlag(_Command):
    flag_id: UUID
    reason: FlagResolution
    note: ResolutionNote | None = None


class MarkReassessmentDue(_Command):
    """Sent by the service's reactions when another service's event calls for a reassessment."""

    trigger: ReassessmentTrigger
    trigger_event_id: UUID


@dataclass(frozen=True, slots=True)
class UnderRulePack:
    """A completion as the service runs it: under the rule pack in force for the case's agency
    (`mend_events.rules`), whose validity periods it uses and whose reference it records."""

    command: CompleteRiskAssessment
    rule_pack: str
    default_validity_days: int
    max_validity_days: int
    # Which forms each decision may permit (None: the default pack's, as before rule packs).
    decisions: DecisionRules | None = None
    # The factor kinds a full assessment records before completion (None: none required).
    factors: FactorRules | None = None


@dataclass(frozen=True, slots=True)
class RevalidateUnderRulePack:
    """Sent by the service's reactions when the case's agency adopts a rule pack: the standing
    decision is judged by the pack's longest validity from the adoption on."""

    rule_pack: str
    max_validity_days: int


RiskCommand = (
    StartRiskAssessment
    | RecordRiskFactor
    | CompleteRiskAssessment
    | AgreeSafetyPlan
    | RaiseRiskFlag
    | ResolveRiskFlag
    | MarkReassessmentDue
)
