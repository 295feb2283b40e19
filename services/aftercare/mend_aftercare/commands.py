"""Command models. Most are request bodies; the actor always comes from the verified token.

Three kinds, kept apart on purpose:
- request bodies a person sends (accept, schedule a check-in, close, ...);
- reaction commands the application layer builds from another service's event
  (`OfferAftercare`, `RecordCommitment`, `ShareProgressUpdate`);
- a request body completed by the application layer with a fact it read from a projection
  (`RecordOutcomeMeasure` = `OutcomeMeasureAnswer` + research consent). Such facts are never
  taken from a request body, or a client could simply claim consent.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.aftercare import (
    AnswerCode,
    ClosureReason,
    CommitmentCode,
    CommitmentStatus,
    InstrumentRef,
    ItemCode,
    MeasurePoint,
    OfferCause,
    OutcomeMeasure,
    PlanRole,
    ProgressCode,
    ReferralKind,
    Score,
    SupportSubject,
    UpdateLevel,
)
from mend_events.web.inputs import Day, Moment
from pydantic import BaseModel, ConfigDict, Field


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- reaction commands (built by the application layer, never a request body) ---------------


class OfferAftercare(_Command):
    """From SessionHalted, SessionCompleted, or ConsentWithdrawn by the harmed person. The
    application layer names the case's harmed person (from its case projection), and the root
    of the cause's chain when the cause was itself caused (a halt's withdrawal or flag)."""

    harmed_person_id: PseudoId
    cause: OfferCause
    cause_event_id: UUID
    root_cause_event_id: UUID | None = None

    @property
    def chain(self) -> UUID:
        return self.root_cause_event_id or self.cause_event_id


class RecordCommitment(_Command):
    """From an agreement reached in the sessions service, one per commitment in it."""

    commitment_id: UUID
    owner_id: PseudoId
    code: CommitmentCode
    due_on: date | None = None
    source_agreement_event_id: UUID


class ShareProgressUpdate(_Command):
    """From a commitment's status change. `updates_consented_at_now` is read by the application
    layer from the consent projection at the moment of deciding."""

    commitment_id: UUID
    status: CommitmentStatus
    updates_consented_at_now: bool


# --- support without a case -----------------------------------------------------------------


class OpenSupportPlan(_Command):
    """Support and signposting for someone who approached the agency, at their request: by
    them, or by a practitioner recording their request. `subject_id` is the stream's."""

    subject_id: PseudoId
    subject: SupportSubject


# --- the harmed person's own word -----------------------------------------------------------


class AcceptAftercare(_Command):
    pass


class DeclineAftercare(_Command):
    pass


class SetProgressUpdatePreference(_Command):
    level: UpdateLevel


class CloseAftercare(_Command):
    """The harmed person closes with any reason but `no_contact_possible`; a practitioner only
    with `unsafe` or `no_contact_possible`."""

    reason: ClosureReason


# --- the responsible person's own word ------------------------------------------------------


class AcceptDesistancePlan(_Command):
    pass


class EndDesistancePlan(_Command):
    pass


# --- practitioner's casework ----------------------------------------------------------------


class ScheduleCheckIn(_Command):
    check_in_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole
    due_at: Moment


class CompleteCheckIn(_Command):
    check_in_id: UUID


class MarkCheckInMissed(_Command):
    check_in_id: UUID


class MakeReferral(_Command):
    referral_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole
    kind: ReferralKind
    owner_id: PseudoId
    due_on: Day


class RecordCommitmentProgress(_Command):
    commitment_id: UUID
    progress: ProgressCode


class CompleteCommitment(_Command):
    commitment_id: UUID


class RecordCommitmentNotCompleted(_Command):
    commitment_id: UUID


# --- outcome measures -----------------------------------------------------------------------


class OutcomeMeasureAnswer(_Command):
    """The request body: the harmed person's answer (entered by them or by their practitioner)."""

    measure: OutcomeMeasure
    point: MeasurePoint
    score: Score


class RecordOutcomeMeasure(OutcomeMeasureAnswer):
    """What the domain decides on: the answer plus the current research consent, which the
    application layer reads from the consent projection (see `with_research_consent`)."""

    research_consent: bool


def with_research_consent(answer: OutcomeMeasureAnswer, consent: bool) -> RecordOutcomeMeasure:
    return RecordOutcomeMeasure(**answer.model_dump(), research_consent=consent)


AftercareCommand = (
    OpenSupportPlan
    | OfferAftercare
    | RecordCommitment
    | ShareProgressUpdate
    | AcceptAftercare
    | DeclineAftercare
    | SetProgressUpdatePreference
    | CloseAftercare
    | AcceptDesistancePlan
    | EndDesistancePlan
    | ScheduleCheckIn
    | CompleteCheckIn
    | MarkCheckInMissed
    | MakeReferral
    | RecordCommitmentProgress
    | CompleteCommitment
    | RecordCommitmentNotCompleted
    | RecordOutcomeMeasure
)


# --- outcome instruments (mend_events.instruments) --------------------------------------------


class InstrumentAnswers(_Command):
    """The request body: a whole answer set to an outcome instrument at one of its points,
    about one person of the case: their own answers (entered by them or their practitioner),
    or the agency's follow-up about a responsible person (by a practitioner)."""

    instrument: InstrumentRef
    point: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,20}$")]
    about_id: PseudoId
    answers: Annotated[dict[ItemCode, int | AnswerCode], Field(min_length=1, max_length=50)]


class AnswerInstrument(InstrumentAnswers):
    """What the domain decides on: the answers plus the person's role in the case and their
    current research consent, both read by the application layer (never from the request)."""

    about_role: PlanRole
    research_consent: bool
