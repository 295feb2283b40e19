"""The risk service's events (stream = one case) and the codes and value objects they carry.

Everything here is codes, booleans, dates and pseudonymous ids. Notes behind a factor live
elsewhere and are referenced by an opaque id; the only free text, a flag's resolution note, is a
`PersonalText` sealed by the store (R8).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.events import DomainEvent, PersonalText, registry
from mend_events.contracts.vocabulary import (
    ALWAYS_WITH_RESPONSIBLE_PERSON,
    NEVER_WITH_RESPONSIBLE_PERSON,
    ContactForm,
    RulePackRef,
)

# An opaque reference to a note kept elsewhere (e.g. `note-7f3a9c`): never the note's text.
NoteRef = PseudoId


class AssessmentStage(StrEnum):
    INITIAL = "initial"  # before a facilitator is allocated: suitability
    FULL = "full"  # once the facilitator has met each party: the only stage that permits contact


class FactorKind(StrEnum):
    POWER_IMBALANCE = "power_imbalance"
    COERCIVE_CONTROL = "coercive_control"
    ONGOING_RELATIONSHIP = "ongoing_relationship"
    PRESSURE_OR_MINIMISATION = "pressure_or_minimisation"
    RESPONSIBLE_MOTIVATION = "responsible_motivation"
    RETRAUMATISATION = "retraumatisation"
    SELF_HARM = "self_harm"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_USE = "substance_use"
    PROTECTIVE_ORDER = "protective_order"
    BAIL_OR_LICENCE_CONDITIONS = "bail_or_licence_conditions"
    OTHER_PROCEEDINGS = "other_proceedings"


# Legal no-contact restrictions: contact with the responsible person breaches them unless they
# carve out RJ contact. Bail and licence conditions are treated like a protective order because
# they commonly forbid contact "directly or indirectly" too.
LEGAL_RESTRICTIONS = (FactorKind.PROTECTIVE_ORDER, FactorKind.BAIL_OR_LICENCE_CONDITIONS)


class FactorStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    SEVERE = "severe"


class RiskDecision(StrEnum):
    PROCEED = "proceed"
    INDIRECT_ONLY = "indirect_only"
    UNSENT_LETTER_ONLY = "unsent_letter_only"
    DO_NOT_PROCEED = "do_not_proceed"


class DecisionReason(StrEnum):
    SUITABLE_WITH_SAFEGUARDS = "suitable_with_safeguards"
    HARMED_PERSON_PREFERENCE = "harmed_person_preference"
    LEGAL_RESTRICTION = "legal_restriction"
    POWER_IMBALANCE = "power_imbalance"
    COERCIVE_CONTROL = "coercive_control"
    RETRAUMATISATION_RISK = "retraumatisation_risk"
    SELF_HARM_RISK = "self_harm_risk"
    RESPONSIBLE_PERSON_NOT_READY = "responsible_person_not_ready"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OTHER = "other"


class FlagCategory(StrEnum):
    COERCIVE_CONTROL = "coercive_control"
    MANIPULATION = "manipulation"
    SAFETY_THREAT = "safety_threat"
    RETRAUMATISATION = "retraumatisation"
    OTHER = "other"


class FlagResolution(StrEnum):
    RISK_ADDRESSED = "risk_addressed"
    NO_LONGER_PRESENT = "no_longer_present"
    RAISED_IN_ERROR = "raised_in_error"
    SUPERSEDED_BY_ASSESSMENT = "superseded_by_assessment"
    OTHER = "other"


class ReassessmentTrigger(StrEnum):
    CASE_STAGE_CHANGED = "case_stage_changed"
    RISK_FLAG_RAISED = "risk_flag_raised"
    CONSENT_REGRANTED = "consent_regranted"
    SESSION_HALTED_FOR_SAFETY = "session_halted_for_safety"
    # The responsible person missed a check-in of their desistance plan (aftercare). A harmed
    # person's missed check-in is never a trigger: nothing escalates on them (R10).
    RESPONSIBLE_PERSON_CHECK_IN_MISSED = "responsible_person_check_in_missed"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RiskFactor(_Value):
    """One structured factor. `concerns` names the participant it is about (None: the case as a
    whole, e.g. a power imbalance between the parties)."""

    kind: FactorKind
    status: FactorStatus
    # Validated by field validators (not one model validator) so an error names its field.
    severity: Severity | None = Field(default=None, validate_default=True)
    note_ref: NoteRef | None = None
    concerns: PseudoId | None = None
    # Only for a legal restriction that is present: does it permit RJ contact (a carve-out)?
    carve_out: StrictBool | None = Field(default=None, validate_default=True)

    @field_validator("severity")
    @classmethod
    def _severity_iff_present(cls, value: Severity | None, info: ValidationInfo) -> Severity | None:
        if "status" not in info.data:
            return value  # the status itself is invalid: that error says enough
        status = info.data["status"]
        if status is FactorStatus.PRESENT and value is None:
            raise ValueError("a present factor needs a severity")
        if status is not FactorStatus.PRESENT and value is not None:
            raise ValueError(f"a factor that is {status} has no severity")
        return value

    @field_validator("carve_out")
    @classmethod
    def _carve_out_for_restrictions(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if "kind" not in info.data or "status" not in info.data:
            return value
        applies = (
            info.data.get("kind") in LEGAL_RESTRICTIONS
            and info.data.get("status") is FactorStatus.PRESENT
        )
        if applies and value is None:
            raise ValueError("say whether the order or conditions permit RJ contact")
        if not applies and value is not None:
            raise ValueError("only for a protective order or bail/licence conditions present")
        return value

    @property
    def key(self) -> tuple[FactorKind, str | None]:
        """A later record with the same key replaces the earlier one within an assessment."""
        return (self.kind, self.concerns)


class PermittedForm(_Value):
    """A contact form a decision permits, and whether the responsible person takes part in it.
    Fixed for most forms (a letter is an exchange with them; an unsent letter, story-telling are
    without them); a conference or a circle may be permitted with them, without, or both."""

    form: ContactForm
    with_responsible_person: StrictBool

    @field_validator("with_responsible_person")
    @classmethod
    def _fits_form(cls, value: bool, info: ValidationInfo) -> bool:
        form = info.data.get("form")  # None when the form itself is invalid
        if form in ALWAYS_WITH_RESPONSIBLE_PERSON and not value:
            raise ValueError(f"{form} is always contact with the responsible person")
        if form in NEVER_WITH_RESPONSIBLE_PERSON and value:
            raise ValueError(f"{form} never involves the responsible person")
        return value


@registry.register
class RiskAssessmentStarted(DomainEvent):
    event_type = "RiskAssessmentStarted"

    assessment_id: UUID
    stage: AssessmentStage


@registry.register
class RiskFactorRecorded(DomainEvent):
    event_type = "RiskFactorRecorded"

    assessment_id: UUID
    factor: RiskFactor


@registry.register
class RiskAssessmentCompleted(DomainEvent):
    """v2: `rule_pack`, the rules the decision was made under (None: made before rule packs,
    under the deployment's configured policy)."""

    event_type = "RiskAssessmentCompleted"
    schema_version = 2

    assessment_id: UUID
    decision: RiskDecision
    permitted_forms: tuple[PermittedForm, ...]
    reasons: Annotated[tuple[DecisionReason, ...], Field(min_length=1)]
    signed_off_by: PseudoId  # the specialist who signed the decision off
    valid_until: AwareDatetime  # absolute, so a replay never depends on today's configuration
    rule_pack: RulePackRef | None = None


@registry.upcaster("RiskAssessmentCompleted", 1)
def _completed_v1(data: dict) -> dict:
    return {**data, "rule_pack": None}


@registry.register
class RiskDecisionRevalidated(DomainEvent):
    """The agency adopted a rule pack under which a standing decision goes stale sooner: from
    the adoption on, the decision is valid until `valid_until` (never later than it was).
    Caused by the hub's RulePackAdopted (the envelope's causation id)."""

    event_type = "RiskDecisionRevalidated"

    assessment_id: UUID
    valid_until: AwareDatetime
    rule_pack: RulePackRef


@registry.register
class SafetyPlanAgreed(DomainEvent):
    event_type = "SafetyPlanAgreed"

    assessment_id: UUID
    agreed_with: PseudoId
    separate_arrival_departure: bool
    support_person_present: bool
    breaks: bool
    exit_plan: bool
    code_word_set: bool  # the code word itself is never stored anywhere


@registry.register
class RiskFlagRaised(DomainEvent):
    event_type = "RiskFlagRaised"

    flag_id: UUID
    severity: Severity
    category: FlagCategory
    affects: PseudoId | None  # a participant, or None for the whole case


@registry.register
class RiskFlagResolved(DomainEvent):
    event_type = "RiskFlagResolved"
    personal_fields = ("note",)
    personal_owner = "note_owner"

    flag_id: UUID
    reason: FlagResolution
    note: PersonalText | None = None
    # Whose data key seals the note: the participant the flag affects, else the case itself (a
    # joint note), so erasing that person or case makes it unreadable. None when there is no note.
    note_owner: PseudoId | None = None


@registry.register
class RiskReassessmentDue(DomainEvent):
    event_type = "RiskReassessmentDue"

    trigger: ReassessmentTrigger
    # The other service's event that made it due; for `risk_flag_raised`, the flag's id (the
    # flag and the reassessment it makes due are recorded by one decision).
    trigger_event_id: UUID


RISK_EVENTS: tuple[type[DomainEvent], ...] = (
    RiskAssessmentStarted,
    RiskFactorRecorded,
    RiskAssessmentCompleted,
    RiskDecisionRevalidated,
    SafetyPlanAgreed,
    RiskFlagRaised,
    RiskFlagResolved,
    RiskReassessmentDue,
)
