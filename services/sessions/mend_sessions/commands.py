"""Command models: request bodies, validated field by field before they reach the domain.

The actor never appears here (it comes from the verified token, `ctx.actor`), and neither do the
gate facts or registry records: the application layer attaches those (`domain.WithGates`,
`domain.WithPractitioner`) so no client can assert its own gates.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mend_events.contracts.actors import AgencyId, PseudoId
from mend_events.contracts.catalog.sessions import (
    AgreementItem,
    CloseReason,
    ContactMethod,
    ContactTopic,
    HaltCause,
    HarmCategory,
    JusticeStage,
    MaterialKind,
    MeetingChannel,
    MeetingPurpose,
    NoteKind,
    Participant,
    ParticipantRole,
    PauseReason,
    ReferralOutcome,
    ReferralSource,
    ResponsiblePersonOutcome,
    ReturnReason,
    Route,
    SafetyArrangements,
    Specialism,
)
from mend_events.contracts.vocabulary import ContactForm
from mend_events.web.inputs import Day, Moment
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _unique(values: tuple[str, ...], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} lists someone twice")


class OpenCase(_Command):
    harm_category: HarmCategory
    justice_stage: JusticeStage
    route: Route
    # Required for agency_on_request; for a self-referral it defaults to the harmed person acting.
    harmed_person_id: PseudoId | None = None


class RecordInvitation(_Command):
    harmed_person_id: PseudoId
    harm_category: HarmCategory | None = None


class EnrolParticipant(_Command):
    """Enrol a person in the case in one role (the case's practitioner or a coordinator), with
    the harmed person's agreement as their preferences record it."""

    person_id: PseudoId
    role: ParticipantRole


class ChooseFacilitator(_Command):
    practitioner_id: PseudoId


class SetPreferences(_Command):
    min_gap_days: int = Field(0, ge=0, le=365)
    permitted_forms: tuple[ContactForm, ...] = tuple(ContactForm)
    speaks_first: PseudoId | None = None
    responsible_person_takes_part: bool = False
    invited: tuple[PseudoId, ...] = ()
    progress_updates: bool = False


class PauseCase(_Command):
    reason: PauseReason = PauseReason.HARMED_PERSON_REQUEST


class ResumeCase(_Command):
    pass


class RecordPreparation(_Command):
    participant: Participant


class ScheduleSession(_Command):
    session_id: PseudoId
    form: ContactForm
    participants: tuple[Participant, ...] = Field(min_length=1)
    facilitator_id: PseudoId
    team: tuple[PseudoId, ...] = ()
    scheduled_for: Moment

    @model_validator(mode="after")
    def _distinct_people(self) -> ScheduleSession:
        ids = tuple(p.id for p in self.participants)
        _unique(ids, "participants")
        _unique(self.team, "team")
        staff = {self.facilitator_id, *self.team}
        if staff & set(ids):
            raise ValueError("a practitioner cannot also be a participant of the session")
        return self


class StartSession(_Command):
    session_id: PseudoId


class HaltSession(_Command):
    """No reason field, on purpose: a participant owes no reason for stopping (R3)."""

    session_id: PseudoId


class CompleteSession(_Command):
    session_id: PseudoId


class RecordAgreement(_Command):
    session_id: PseudoId
    items: tuple[AgreementItem, ...] = Field(min_length=1)
    consented_by: tuple[PseudoId, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> RecordAgreement:
        _unique(self.consented_by, "consented_by")
        return self


class AgreementItemBody(AgreementItem):
    """An item as a client sends it: its day, if any, within the shared window."""

    due_on: Day | None = None


class AgreementBody(_Command):
    """The request body of an agreement: the session comes from the path."""

    items: tuple[AgreementItemBody, ...] = Field(min_length=1)
    consented_by: tuple[PseudoId, ...] = Field(min_length=1)


class CloseCase(_Command):
    reason: CloseReason


# --- letters and indirect messages ----------------------------------------------------------

# The text is sealed in the event under its author's key; the bound keeps one event small.
LETTER_MAX_CHARS = 20_000
LetterText = Field(min_length=1, max_length=LETTER_MAX_CHARS)


class DraftLetter(_Command):
    letter_id: PseudoId
    session_id: PseudoId
    content: str = LetterText
    reply_to: PseudoId | None = None


class ReviseLetterBody(_Command):
    content: str = LetterText


class ReviseLetter(ReviseLetterBody):
    letter_id: PseudoId


class ReturnLetterBody(_Command):
    reason: ReturnReason
    note: str | None = Field(None, min_length=1, max_length=2_000)


class ReturnLetter(ReturnLetterBody):
    letter_id: PseudoId


class SubmitLetter(_Command):
    letter_id: PseudoId


class ApproveLetter(_Command):
    letter_id: PseudoId


class DeliverLetter(_Command):
    letter_id: PseudoId


class KeepLetterUnsent(_Command):
    letter_id: PseudoId


# --- referrals and the responsible person's answer ---------------------------------------


class RecordReferral(_Command):
    referral_id: PseudoId
    harmed_person_id: PseudoId
    source: ReferralSource
    referring_agency: AgencyId | None = None
    contact_person_id: PseudoId | None = None
    contact_about: tuple[ContactTopic, ...] = ()
    contact_by: tuple[ContactMethod, ...] = ()

    @model_validator(mode="after")
    def _route(self) -> RecordReferral:
        if (self.source == ReferralSource.AGENCY) != (self.referring_agency is not None):
            raise ValueError("an agency's referral names the agency; a self-referral none")
        return self


class ReferralOutcomeBody(_Command):
    outcome: ReferralOutcome


class RecordReferralOutcome(ReferralOutcomeBody):
    referral_id: PseudoId


class RecordResponsiblePersonOutcome(_Command):
    outcome: ResponsiblePersonOutcome


# --- case notes -------------------------------------------------------------------------------

# An attachment travels in the request body (the edge takes 64 KiB at most): 40 KiB of content.
ATTACHMENT_MAX_BYTES = 40 * 1024
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


class AttachmentBody(_Command):
    media_type: str = Field(pattern=r"^(application/pdf|image/png|image/jpeg|text/plain)$")
    content_base64: str = Field(min_length=4, max_length=(ATTACHMENT_MAX_BYTES * 4) // 3 + 4)


class WriteNote(_Command):
    note_id: PseudoId
    kind: NoteKind
    about_id: PseudoId | None = None  # sealed under this person's key; None: the case's
    text: str = Field(min_length=1, max_length=20_000)
    attachment: AttachmentBody | None = None


class NoteWithAttachment(_Command):
    """A note as the domain decides it: the attachment checked and stored by the service,
    named by digest, type and size."""

    note: WriteNote
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None


class ShareNoteBody(_Command):
    with_id: PseudoId


class ShareNote(ShareNoteBody):
    note_id: PseudoId


class RecordNoteRead(_Command):
    note_id: PseudoId
    attachment: bool = False


# --- reactions (issued by this service's subscribers, actor role `system`) ------------------

CONSENT_LOSS = frozenset(
    {
        HaltCause.CONSENT_WITHDRAWN,
        HaltCause.CONSENT_INVALIDATED,
        HaltCause.ACKNOWLEDGEMENT_WITHDRAWN,
        HaltCause.CONSENT_LAPSED,
    }
)
RISK_CAUSES = frozenset({HaltCause.RISK_FLAG, HaltCause.RISK_DECISION})


def _cause_among(causes: frozenset[HaltCause]) -> Any:
    """A halt command's check that its `cause` is one its reaction may name."""

    def check(command: Any) -> Any:
        if command.cause not in causes:
            raise ValueError(f"cause must be one of {sorted(causes)}")
        return command

    return model_validator(mode="after")(check)


class HaltSessionsDependingOnConsent(_Command):
    participant_id: PseudoId
    forms: tuple[ContactForm, ...] | None = None  # None: every form (e.g. taking part withdrawn)
    cause_event_id: UUID
    cause: HaltCause = HaltCause.CONSENT_WITHDRAWN

    _cause_allowed = _cause_among(CONSENT_LOSS)


class HaltSessionsForRisk(_Command):
    cause_event_id: UUID
    forms: tuple[ContactForm, ...] | None = None  # None: every form (e.g. a severe flag)
    # Only these sessions (e.g. those a new decision no longer permits: a conference may stay
    # permitted without the responsible person and not with them). None: every active one.
    session_ids: tuple[PseudoId, ...] | None = None
    cause: HaltCause = HaltCause.RISK_FLAG

    _cause_allowed = _cause_among(RISK_CAUSES)


# --- registry stream ------------------------------------------------------------------------


class RegisterPractitioner(_Command):
    practitioner_id: PseudoId
    rj_trained: bool
    sexual_harm_trained: bool
    level: int = Field(ge=1, le=3)
    specialisms: tuple[Specialism, ...] = ()


# --- meetings -------------------------------------------------------------------------------


def _iana(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("must be an IANA time zone name, e.g. Europe/London") from None
    return name


Timezone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_iana)]
PlaceText = Field(None, min_length=1, max_length=2_000)


class ArrangeMeeting(_Command):
    """A preparation meeting with one party (`with_id`, at `at`), or the meeting of a scheduled
    direct contact session (`session_id`: its time is the session's)."""

    meeting_id: PseudoId
    purpose: MeetingPurpose
    with_id: PseudoId | None = None
    session_id: PseudoId | None = None
    at: Moment | None = None
    timezone: Timezone
    channel: MeetingChannel
    place: str | None = PlaceText
    arrangements: SafetyArrangements = SafetyArrangements()
    arrangements_note: str | None = PlaceText

    @model_validator(mode="after")
    def _shape(self) -> ArrangeMeeting:
        if self.purpose == MeetingPurpose.PREPARATION:
            if self.with_id is None or self.at is None or self.session_id is not None:
                raise ValueError("a preparation meeting names with_id and at, no session_id")
        elif self.session_id is None or self.with_id is not None:
            raise ValueError("a contact meeting names its session_id, no with_id")
        if self.channel == MeetingChannel.IN_PERSON and self.place is None:
            raise ValueError("a meeting in person needs its place")
        return self


class MeetingAvailabilityBody(_Command):
    available: bool


class GiveAvailability(MeetingAvailabilityBody):
    meeting_id: PseudoId


class CancelMeeting(_Command):
    """No reason field: nobody owes one for calling a meeting off (R3)."""

    meeting_id: PseudoId


# --- the harmed person's own materials -----------------------------------------------------


class WriteMaterial(_Command):
    item_id: PseudoId
    kind: MaterialKind
    content: str = LetterText


class ReviseMaterialBody(_Command):
    content: str = LetterText


class ReviseMaterial(ReviseMaterialBody):
    item_id: PseudoId


class ShareMaterial(_Command):
    item_id: PseudoId


class UnshareMaterial(_Command):
    item_id: PseudoId


class OfferMaterialBody(_Command):
    """Into which running written session, as which new letter."""

    session_id: PseudoId
    letter_id: PseudoId


class OfferMaterial(OfferMaterialBody):
    item_id: PseudoId


class RecordMaterialRead(_Command):
    item_id: PseudoId
