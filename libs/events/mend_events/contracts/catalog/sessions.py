"""The sessions service's events: the survivor-led case process, contact sessions and halts.

One stream per case (stream id = case id), plus one `registry` stream for practitioners.
Only pseudonymous ids and codes (R8); the one free text, a letter's or message's content and
a facilitator's note on returning it, travels as `PersonalText` sealed under its author's key.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mend_events.contracts.actors import AgencyId, PseudoId, Role
from mend_events.contracts.events import DomainEvent, PersonalText, registry
from mend_events.contracts.vocabulary import ContactForm, RulePackRef


class HarmCategory(StrEnum):
    RAPE = "rape"
    SEXUAL_ASSAULT = "sexual_assault"
    CHILD_SEXUAL_ABUSE = "child_sexual_abuse"
    INTRAFAMILIAL_SEXUAL_ABUSE = "intrafamilial_sexual_abuse"
    IMAGE_BASED_ABUSE = "image_based_abuse"
    ONLINE_SEXUAL_ABUSE = "online_sexual_abuse"
    SEXUAL_HARASSMENT = "sexual_harassment"
    OTHER_SEXUAL_HARM = "other_sexual_harm"


class JusticeStage(StrEnum):
    NONE = "none"
    PRE_CHARGE = "pre_charge"
    PRE_SENTENCE = "pre_sentence"
    POST_SENTENCE = "post_sentence"


class Route(StrEnum):
    SELF_REFERRAL = "self_referral"
    AGENCY_ON_REQUEST = "agency_on_request"  # an agency acting on the harmed person's request


class PauseReason(StrEnum):
    HARMED_PERSON_REQUEST = "harmed_person_request"  # their word is enough: no reason owed
    OTHER_LEGAL_PROCEEDINGS = "other_legal_proceedings"


class CloseReason(StrEnum):
    HARMED_PERSON_READY = "harmed_person_ready"
    HARMED_PERSON_DECISION = "harmed_person_decision"
    NOT_SUITABLE = "not_suitable"
    TOO_RISKY = "too_risky"


class HaltCause(StrEnum):
    PARTICIPANT_HALT = "participant_halt"
    PRACTITIONER_HALT = "practitioner_halt"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    # Kept apart from a withdrawal so an auditor sees exactly what stopped the session (R9).
    CONSENT_INVALIDATED = "consent_invalidated"
    ACKNOWLEDGEMENT_WITHDRAWN = "acknowledgement_withdrawn"
    CONSENT_LAPSED = "consent_lapsed"  # a grant reached its expiry: nobody withdrew anything
    RISK_FLAG = "risk_flag"
    RISK_DECISION = "risk_decision"


class ParticipantRole(StrEnum):
    """The participant subset of `Role`, with the same values."""

    HARMED_PERSON = "harmed_person"
    RESPONSIBLE_PERSON = "responsible_person"
    SUPPORTER = "supporter"
    INSTITUTION_REP = "institution_rep"


class AgreedCommitment(StrEnum):
    """What an agreement item asks of its owner (aftercare maps these onto its own codes)."""

    THERAPEUTIC_TREATMENT = "therapeutic_treatment"
    BEHAVIOUR_PROGRAMME = "behaviour_programme"
    FAMILY_ARRANGEMENT = "family_arrangement"
    CONTACT_ARRANGEMENT = "contact_arrangement"
    NO_CONTACT = "no_contact"
    WRITTEN_ACCOUNT = "written_account"
    REPARATION = "reparation"
    OTHER = "other"


class Specialism(StrEnum):
    SURVIVOR_SPECIALIST = "survivor_specialist"
    HSB_SPECIALIST = "hsb_specialist"  # harmful sexual behaviour


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Participant(_Value):
    id: PseudoId
    role: ParticipantRole


class AgreementItem(_Value):
    owner_id: PseudoId
    commitment: AgreedCommitment
    # Agreed by the owner, never imposed: nothing reminds or escalates on it (R10).
    due_on: date | None = None


# --- case stream ---------------------------------------------------------------------------


@registry.register
class CaseOpened(DomainEvent):
    event_type: ClassVar[str] = "CaseOpened"
    harm_category: HarmCategory
    justice_stage: JusticeStage
    agency: AgencyId
    harmed_person_id: PseudoId
    route: Route


@registry.register
class ParticipantEnrolled(DomainEvent):
    """A person takes part in the case, in one role, from now on: enrolled by the case's
    practitioner (or coordinator) with the harmed person's agreement (they invited the person;
    for the responsible person, they also chose that the responsible person takes part). The
    harmed person is a member from CaseOpened. Every service checks membership on this."""

    event_type: ClassVar[str] = "ParticipantEnrolled"
    person_id: PseudoId
    role: ParticipantRole


@registry.register
class InvitationRecorded(DomainEvent):
    """A referral by anyone but the harmed person: an invitation they may take up or ignore.
    It carries no deadline and triggers no reminder (R10)."""

    event_type: ClassVar[str] = "InvitationRecorded"
    harmed_person_id: PseudoId
    harm_category: HarmCategory | None = None


@registry.register
class FacilitatorChosen(DomainEvent):
    event_type: ClassVar[str] = "FacilitatorChosen"
    practitioner_id: PseudoId


@registry.register
class PreferencesSet(DomainEvent):
    """The harmed person's preferences, whole (each event replaces the previous one)."""

    event_type: ClassVar[str] = "PreferencesSet"
    min_gap_days: int = Field(ge=0, le=365)
    permitted_forms: tuple[ContactForm, ...]
    speaks_first: PseudoId | None
    responsible_person_takes_part: bool
    invited: tuple[PseudoId, ...]
    progress_updates: bool


@registry.register
class CasePaused(DomainEvent):
    event_type: ClassVar[str] = "CasePaused"
    reason: PauseReason


@registry.register
class CaseResumed(DomainEvent):
    event_type: ClassVar[str] = "CaseResumed"


@registry.register
class PreparationSessionHeld(DomainEvent):
    event_type: ClassVar[str] = "PreparationSessionHeld"
    participant: Participant


@registry.register
class SessionScheduled(DomainEvent):
    """v2: `rule_pack`, the rules its gates were evaluated under (the agency's floor on the
    minimum gap, `sessions.min_gap_days_floor`); None: scheduled before rule packs."""

    event_type: ClassVar[str] = "SessionScheduled"
    schema_version: ClassVar[int] = 2
    session_id: PseudoId
    form: ContactForm
    participants: tuple[Participant, ...]
    facilitator_id: PseudoId
    team: tuple[PseudoId, ...]
    scheduled_for: AwareDatetime
    speaks_first: PseudoId  # from the harmed person's preferences (R6), never from the scheduler
    rule_pack: RulePackRef | None = None


@registry.upcaster("SessionScheduled", 1)
def _scheduled_v1(data: dict) -> dict:
    return {**data, "rule_pack": None}


@registry.register
class SessionStarted(DomainEvent):
    """v2: `rule_pack`, the rules its gates were evaluated under as it started (None: before
    rule packs)."""

    event_type: ClassVar[str] = "SessionStarted"
    schema_version: ClassVar[int] = 2
    session_id: PseudoId
    rule_pack: RulePackRef | None = None


@registry.upcaster("SessionStarted", 1)
def _started_v1(data: dict) -> dict:
    return {**data, "rule_pack": None}


@registry.register
class SessionHalted(DomainEvent):
    """A session stopped for good (R3). A participant owes no reason, so there is no reason field;
    `cause` says what kind of halt it was and `cause_event_id` names the withdrawal or risk event
    that caused it (None for a halt by a person in the session)."""

    event_type: ClassVar[str] = "SessionHalted"
    session_id: PseudoId
    halted_by_id: PseudoId | None  # None when the system halted it in reaction to another event
    halted_by_role: Role
    cause: HaltCause
    cause_event_id: UUID | None = None


@registry.register
class SessionCompleted(DomainEvent):
    event_type: ClassVar[str] = "SessionCompleted"
    session_id: PseudoId


@registry.register
class AgreementReached(DomainEvent):
    event_type: ClassVar[str] = "AgreementReached"
    session_id: PseudoId
    items: tuple[AgreementItem, ...]
    consented_by: tuple[PseudoId, ...]  # every party present in the session


@registry.register
class CaseClosed(DomainEvent):
    event_type: ClassVar[str] = "CaseClosed"
    reason: CloseReason


# --- registry stream -----------------------------------------------------------------------


@registry.register
class PractitionerRegistered(DomainEvent):
    """A practitioner's qualifications as of now; a later registration of the same id supersedes
    it (that is also how a lapsed qualification is recorded)."""

    event_type: ClassVar[str] = "PractitionerRegistered"
    practitioner_id: PseudoId
    rj_trained: bool
    sexual_harm_trained: bool
    level: int = Field(ge=1, le=3)
    specialisms: tuple[Specialism, ...] = ()


# --- letters and indirect messages (case stream) -------------------------------------------
# A letter or shuttle message belongs to a session of a written form (letter, indirect,
# unsent_letter), so the session's gates (R4) and halts (R2, R3) govern its delivery. Only the
# draft and a return note carry text, sealed under the author's key; every other event carries
# ids and states only.


class ReturnReason(StrEnum):
    """Why the facilitator returned a letter to its author for another draft."""

    MAY_HARM_READER = "may_harm_reader"
    IDENTIFYING_DETAILS = "identifying_details"  # e.g. an address or a workplace (R8)
    BLAME_OR_PRESSURE = "blame_or_pressure"
    NEEDS_PREPARATION = "needs_preparation"
    OTHER = "other"


@registry.register
class LetterDrafted(DomainEvent):
    event_type: ClassVar[str] = "LetterDrafted"
    personal_fields: ClassVar[tuple[str, ...]] = ("content",)
    personal_owner: ClassVar[str | None] = "author_id"
    letter_id: PseudoId
    session_id: PseudoId
    author_id: PseudoId
    recipient_id: PseudoId | None  # None in an unsent-letter session: nobody receives it
    reply_to: PseudoId | None = None  # the delivered letter this one answers
    content: PersonalText | None = None


@registry.register
class LetterRevised(DomainEvent):
    event_type: ClassVar[str] = "LetterRevised"
    personal_fields: ClassVar[tuple[str, ...]] = ("content",)
    personal_owner: ClassVar[str | None] = "author_id"
    letter_id: PseudoId
    author_id: PseudoId
    content: PersonalText | None = None


@registry.register
class LetterSubmitted(DomainEvent):
    """The author asks the facilitator to review the letter."""

    event_type: ClassVar[str] = "LetterSubmitted"
    letter_id: PseudoId


@registry.register
class LetterReturned(DomainEvent):
    event_type: ClassVar[str] = "LetterReturned"
    personal_fields: ClassVar[tuple[str, ...]] = ("note",)
    personal_owner: ClassVar[str | None] = "author_id"
    letter_id: PseudoId
    author_id: PseudoId
    reason: ReturnReason
    note: PersonalText | None = None


@registry.register
class LetterApproved(DomainEvent):
    event_type: ClassVar[str] = "LetterApproved"
    letter_id: PseudoId


@registry.register
class LetterDelivered(DomainEvent):
    event_type: ClassVar[str] = "LetterDelivered"
    letter_id: PseudoId
    recipient_id: PseudoId


@registry.register
class LetterKeptUnsent(DomainEvent):
    """The author's unsent-letter decision: written, and never to be delivered."""

    event_type: ClassVar[str] = "LetterKeptUnsent"
    letter_id: PseudoId


@registry.register
class LetterDeliveryStopped(DomainEvent):
    """A letter not yet delivered will never be: its session was halted. `cause` and
    `cause_event_id` are the halt's (the withdrawal or risk event for a reaction, R2, R9)."""

    event_type: ClassVar[str] = "LetterDeliveryStopped"
    letter_id: PseudoId
    session_id: PseudoId
    cause: HaltCause
    cause_event_id: UUID | None = None


# --- case notes (case stream) ----------------------------------------------------------------
# A practitioner's note, sealed under the case's key (a note about the case) or the person's it
# is about, so erasing that person's data makes it unreadable. Every read is recorded. An
# attachment is stored encrypted in the service's content-addressed table; the event names it
# by digest, type and size only.


class NoteKind(StrEnum):
    PREPARATION = "preparation"
    ASSESSMENT = "assessment"
    SUPERVISION = "supervision"


@registry.register
class CaseNoteWritten(DomainEvent):
    event_type: ClassVar[str] = "CaseNoteWritten"
    personal_fields: ClassVar[tuple[str, ...]] = ("text",)
    personal_owner: ClassVar[str | None] = "key_owner"
    note_id: PseudoId
    kind: NoteKind
    key_owner: PseudoId  # the case id, or the person the note is about
    about_id: PseudoId | None = None
    attachment_digest: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    attachment_type: str | None = None
    attachment_size: int | None = None
    text: PersonalText | None = None


@registry.register
class CaseNoteShared(DomainEvent):
    """Shown to a participant from now on (never by default)."""

    event_type: ClassVar[str] = "CaseNoteShared"
    note_id: PseudoId
    with_id: PseudoId


@registry.register
class CaseNoteRead(DomainEvent):
    """Someone opened the note: who and when are the envelope's."""

    event_type: ClassVar[str] = "CaseNoteRead"
    note_id: PseudoId
    attachment: bool = False


# --- referrals and the responsible person's answer (case stream) ---------------------------------


class ReferralSource(StrEnum):
    SELF = "self"  # the harmed person approached the service themself
    AGENCY = "agency"  # another organisation referred them (`referring_agency`)


class ContactTopic(StrEnum):
    """What the person agreed to be contacted about."""

    RJ_INFORMATION = "rj_information"
    SUPPORT_SERVICES = "support_services"
    CASE_PROGRESS = "case_progress"


class ContactMethod(StrEnum):
    """How they agreed to be contacted (the details are the people directory's, sealed)."""

    PHONE = "phone"
    EMAIL = "email"
    POST = "post"
    VIA_REFERRER = "via_referrer"


class ReferralOutcome(StrEnum):
    TAKEN_UP = "taken_up"
    DECLINED = "declined"
    NOT_REACHABLE = "not_reachable"
    WITHDRAWN = "withdrawn"


class ResponsiblePersonOutcome(StrEnum):
    DECLINED = "declined"
    NOT_REACHABLE = "not_reachable"


@registry.register
class ReferralRecorded(DomainEvent):
    """A referral or enquiry: its route, who referred (an agency and its contact person, by
    pseudonymous id), and what the person agreed to be contacted about and how. Nothing obliges
    the harmed person to take it up (R1)."""

    event_type: ClassVar[str] = "ReferralRecorded"
    referral_id: PseudoId
    harmed_person_id: PseudoId
    source: ReferralSource
    referring_agency: AgencyId | None = None
    contact_person_id: PseudoId | None = None
    contact_about: tuple[ContactTopic, ...] = ()
    contact_by: tuple[ContactMethod, ...] = ()


@registry.register
class ReferralOutcomeRecorded(DomainEvent):
    event_type: ClassVar[str] = "ReferralOutcomeRecorded"
    referral_id: PseudoId
    outcome: ReferralOutcome


@registry.register
class ResponsiblePersonOutcomeRecorded(DomainEvent):
    """The responsible person declined or could not be reached: an outcome of its own. No
    session with them is scheduled or started from now on; the harmed person is offered the
    forms that need no contact with them (`offered_forms`)."""

    event_type: ClassVar[str] = "ResponsiblePersonOutcomeRecorded"
    outcome: ResponsiblePersonOutcome
    offered_forms: tuple[ContactForm, ...]


# --- meetings (case stream) ------------------------------------------------------------------
# A preparation meeting with one party, or the meeting of a direct contact session: its time
# (a UTC instant and the IANA zone it was arranged in), its channel (a kind from a closed set,
# never an address or a link), and the safety plan's arrangements for it. The place, or how to
# join a remote meeting, is free text: sealed like every personal field, never in clear.


class MeetingPurpose(StrEnum):
    PREPARATION = "preparation"  # the facilitator and one party, before any contact
    CONTACT = "contact"  # the meeting of a direct contact session


class MeetingChannel(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"  # a live remote channel the agency runs; its link is never in an event
    PHONE = "phone"


class SafetyArrangements(_Value):
    """What the safety plan asks of a meeting (DOMAIN.md stage 7)."""

    separate_arrival_departure: bool = False
    breaks: bool = False
    support_person_present: bool = False


@registry.register
class MeetingArranged(DomainEvent):
    event_type: ClassVar[str] = "MeetingArranged"
    personal_fields: ClassVar[tuple[str, ...]] = ("place", "arrangements_note")
    personal_owner: ClassVar[str | None] = "key_owner"
    meeting_id: PseudoId
    purpose: MeetingPurpose
    session_id: PseudoId | None = None  # the contact session it is the meeting of
    attendees: tuple[Participant, ...]  # the participants expected (the facilitator aside)
    facilitator_id: PseudoId
    at: AwareDatetime
    timezone: str = Field(min_length=1, max_length=64)  # IANA name, e.g. Europe/London
    channel: MeetingChannel
    arrangements: SafetyArrangements
    key_owner: PseudoId  # the party prepared, or the case id for a contact meeting
    place: PersonalText | None = None  # the place, or how to join: sealed
    arrangements_note: PersonalText | None = None  # anything else the plan asks: sealed


@registry.register
class MeetingAvailabilityGiven(DomainEvent):
    """One attendee (or the facilitator) says whether they can attend, for themself only."""

    event_type: ClassVar[str] = "MeetingAvailabilityGiven"
    meeting_id: PseudoId
    person_id: PseudoId
    available: bool


@registry.register
class MeetingCancelled(DomainEvent):
    """By someone of the meeting (no reason owed), or as the consequence of a halt, a
    withdrawal or the case's closing (`cause_event_id` names the event that caused it)."""

    event_type: ClassVar[str] = "MeetingCancelled"
    meeting_id: PseudoId
    cause: HaltCause
    cancelled_by_id: PseudoId | None = None  # None when the system cancelled it
    cause_event_id: UUID | None = None


# --- the harmed person's own materials (case stream) -------------------------------------------
# Questions they want answered ("why me?"), an impact statement, what they want the responsible
# person to hear: theirs, sealed under their key, shown to the facilitator only item by item by
# their decision, and to the responsible person only as a letter, through the facilitator's
# review (the letters' own events: `MaterialOffered` names the letter).


class MaterialKind(StrEnum):
    QUESTION = "question"
    IMPACT_STATEMENT = "impact_statement"
    TO_HEAR = "to_hear"  # what they want the responsible person to hear


@registry.register
class MaterialWritten(DomainEvent):
    event_type: ClassVar[str] = "MaterialWritten"
    personal_fields: ClassVar[tuple[str, ...]] = ("content",)
    personal_owner: ClassVar[str | None] = "owner_id"
    item_id: PseudoId
    kind: MaterialKind
    owner_id: PseudoId
    content: PersonalText | None = None


@registry.register
class MaterialRevised(DomainEvent):
    event_type: ClassVar[str] = "MaterialRevised"
    personal_fields: ClassVar[tuple[str, ...]] = ("content",)
    personal_owner: ClassVar[str | None] = "owner_id"
    item_id: PseudoId
    owner_id: PseudoId
    content: PersonalText | None = None


@registry.register
class MaterialShared(DomainEvent):
    """The owner shows the item to the case's facilitator (and allocated team) from now on."""

    event_type: ClassVar[str] = "MaterialShared"
    item_id: PseudoId


@registry.register
class MaterialUnshared(DomainEvent):
    """The owner takes the item back: hidden from the team again, and a letter made of it not
    yet delivered is kept unsent (its own event, `LetterKeptUnsent`)."""

    event_type: ClassVar[str] = "MaterialUnshared"
    item_id: PseudoId


@registry.register
class MaterialOffered(DomainEvent):
    """The owner asks for the item to reach the responsible person: it becomes a letter of a
    written session (`letter_id`), drafted and submitted for the facilitator's review."""

    event_type: ClassVar[str] = "MaterialOffered"
    item_id: PseudoId
    letter_id: PseudoId
    session_id: PseudoId


@registry.register
class MaterialRead(DomainEvent):
    """Someone opened the item: who and when are the envelope's."""

    event_type: ClassVar[str] = "MaterialRead"
    item_id: PseudoId
