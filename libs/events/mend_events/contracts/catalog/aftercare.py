"""The aftercare service's events: one stream per case, stream id = case id.

Codes, pseudonymous ids, dates and integers only, with one exception: a community team
conference's minutes (`ConferenceHeld`), which travel only sealed under the harmed person's key,
so her erasure makes them unreadable everywhere (R7, R8).
Who acted and when travels in the envelope (`mend_events.contracts.envelope.Metadata`), not in the
data.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, Field

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.events import DomainEvent, PersonalText, registry


class OfferCause(StrEnum):
    """Why after-care was offered; the cause event's id travels beside it (and as causation id)."""

    SESSION_HALTED = "session_halted"
    CONSENT_WITHDRAWN = "consent_withdrawn"  # by the harmed person (R2)
    SESSION_COMPLETED = "session_completed"


class PlanRole(StrEnum):
    """Whose plan a check-in or referral belongs to: the harmed person's after-care, or the
    responsible person's desistance and reintegration plan."""

    HARMED_PERSON = "harmed_person"
    RESPONSIBLE_PERSON = "responsible_person"
    # Someone supported without a case (a support plan, stream `support:<agency>:<subject>`):
    # never escalated, whatever they are to any case.
    SUPPORTED_PERSON = "supported_person"


SUPPORT_STREAM = "support:"


def support_stream(agency: str, subject_id: str) -> str:
    """One person's support plan (a person id or an enquiry reference names someone within
    their agency only)."""
    return f"{SUPPORT_STREAM}{agency}:{subject_id}"


class SupportSubject(StrEnum):
    """Whom a support plan is for: a registered person, or an enquiry's pseudonymous reference
    (someone who has not given their name)."""

    PERSON = "person"
    ENQUIRY = "enquiry"


class ReferralKind(StrEnum):
    COUNSELLING = "counselling"
    ADVOCACY = "advocacy"
    THERAPEUTIC_TREATMENT = "therapeutic_treatment"
    CIRCLES_OF_SUPPORT_AND_ACCOUNTABILITY = "circles_of_support_and_accountability"
    OTHER = "other"


class CommitmentCode(StrEnum):
    """What an agreement asked of someone. The sessions service's agreement codes map onto these
    in the application layer; `other` keeps an unmapped code from being lost."""

    THERAPEUTIC_TREATMENT = "therapeutic_treatment"
    BEHAVIOUR_CHANGE_PROGRAMME = "behaviour_change_programme"
    NO_CONTACT = "no_contact"
    FAMILY_ARRANGEMENT = "family_arrangement"
    CONTACT_ARRANGEMENT = "contact_arrangement"
    WRITTEN_ACCOUNT = "written_account"
    REPARATION = "reparation"
    OTHER = "other"


class ProgressCode(StrEnum):
    STARTED = "started"
    ON_TRACK = "on_track"
    BEHIND_SCHEDULE = "behind_schedule"


class CommitmentStatus(StrEnum):
    """The status a progress update may tell the harmed person. Only these codes ever travel to
    them: never the progress detail, never the practitioner's view."""

    PROGRESSED = "progressed"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"


class UpdateLevel(StrEnum):
    """How much the harmed person chose to hear about commitments. `none` is the default."""

    EACH_UPDATE = "each_update"
    COMPLETION_ONLY = "completion_only"
    RISK_CHANGES_ONLY = "risk_changes_only"
    NONE = "none"


class OutcomeMeasure(StrEnum):
    SATISFACTION = "satisfaction"
    SAFETY_FEAR = "safety_fear"
    WELLBEING = "wellbeing"


class MeasurePoint(StrEnum):
    BASELINE = "baseline"
    M1 = "m1"
    M6 = "m6"
    M12 = "m12"


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    DECLINED = "declined"
    WITHDREW = "withdrew"
    UNSAFE = "unsafe"
    NO_CONTACT_POSSIBLE = "no_contact_possible"


Score = Annotated[int, Field(ge=1, le=10)]


@registry.register
class AftercareOffered(DomainEvent):
    """Support offered to the harmed person, once per cause chain. `cause_event_id` is the event
    after-care reacted to; `root_cause_event_id` the event that began its chain when that is
    another one (the withdrawal behind a SessionHalted), None when the cause began it.
    `reopens_closure` names the reason of an earlier closure this offer reopens, so whoever
    delivers it knows when direct contact was judged unsafe or impossible and goes through the
    practitioner instead."""

    event_type = "AftercareOffered"
    harmed_person_id: PseudoId
    cause: OfferCause
    cause_event_id: UUID
    reopens_closure: ClosureReason | None = None
    root_cause_event_id: UUID | None = None

    @property
    def chain(self) -> UUID:
        """The event that began the chain this offer answers."""
        return self.root_cause_event_id or self.cause_event_id


@registry.register
class SupportPlanOpened(DomainEvent):
    """Support and signposting (check-ins, referrals to other services) for someone who
    approached the agency, with or without a case going ahead, opened at their own request:
    the plan is theirs from here on (they may stop it at once: `AftercareClosed`). Stream
    `support:<agency>:<subject_id>`; the same decisions as a case's after-care apply to it."""

    event_type = "SupportPlanOpened"
    subject_id: PseudoId
    subject: SupportSubject


@registry.register
class AftercareAccepted(DomainEvent):
    """The harmed person's own yes (the actor in the envelope is the harmed person)."""

    event_type = "AftercareAccepted"


@registry.register
class AftercareDeclined(DomainEvent):
    """The harmed person's own no. It does not close the case: they may accept later."""

    event_type = "AftercareDeclined"


@registry.register
class DesistancePlanAccepted(DomainEvent):
    """The responsible person took up desistance and reintegration support (voluntary, R10)."""

    event_type = "DesistancePlanAccepted"
    responsible_person_id: PseudoId


@registry.register
class DesistancePlanEnded(DomainEvent):
    """The responsible person left their plan; no reason is owed."""

    event_type = "DesistancePlanEnded"
    responsible_person_id: PseudoId


@registry.register
class CheckInScheduled(DomainEvent):
    event_type = "CheckInScheduled"
    check_in_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole
    due_at: AwareDatetime


@registry.register
class CheckInCompleted(DomainEvent):
    event_type = "CheckInCompleted"
    check_in_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole


@registry.register
class CheckInMissed(DomainEvent):
    """A missed check-in. With `participant_role = responsible_person` this is the signal the
    risk service consumes; a harmed person's missed check-in is never escalated (R10)."""

    event_type = "CheckInMissed"
    check_in_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole


@registry.register
class ReferralMade(DomainEvent):
    event_type = "ReferralMade"
    referral_id: UUID
    participant_id: PseudoId
    participant_role: PlanRole
    kind: ReferralKind
    owner_id: PseudoId  # who follows the referral up
    due_on: date


@registry.register
class CommitmentRecorded(DomainEvent):
    event_type = "CommitmentRecorded"
    commitment_id: UUID
    owner_id: PseudoId  # the participant who made the commitment
    code: CommitmentCode
    # None: the agreement set no date. Agreed by the owner, never imposed (R10), so none is
    # invented here.
    due_on: date | None = None
    source_agreement_event_id: UUID


@registry.register
class CommitmentProgressed(DomainEvent):
    event_type = "CommitmentProgressed"
    commitment_id: UUID
    progress: ProgressCode


@registry.register
class CommitmentCompleted(DomainEvent):
    event_type = "CommitmentCompleted"
    commitment_id: UUID


@registry.register
class CommitmentNotCompleted(DomainEvent):
    event_type = "CommitmentNotCompleted"
    commitment_id: UUID


@registry.register
class ProgressUpdatePreferenceSet(DomainEvent):
    """The harmed person's own choice of what to hear. Consent to receive updates (R1) is a
    separate scope held by the consent service; both must allow an update."""

    event_type = "ProgressUpdatePreferenceSet"
    harmed_person_id: PseudoId
    level: UpdateLevel


@registry.register
class ProgressUpdateShared(DomainEvent):
    """A status code released to the harmed person. `commitment_revision` is the number of
    status changes the commitment had when shared: one share per change, however often asked."""

    event_type = "ProgressUpdateShared"
    harmed_person_id: PseudoId
    commitment_id: UUID
    status: CommitmentStatus
    commitment_revision: int = Field(ge=1)


@registry.register
class OutcomeMeasureRecorded(DomainEvent):
    """The harmed person's answer to one voluntary measure, recorded only under research
    consent. An integer score: no floats in events (hash chains re-serialise JSON)."""

    event_type = "OutcomeMeasureRecorded"
    measure: OutcomeMeasure
    point: MeasurePoint
    score: Score


@registry.register
class AftercareClosed(DomainEvent):
    event_type = "AftercareClosed"
    reason: ClosureReason


# An outcome instrument's version (`mend_events.instruments`), e.g. `survivor-outcomes@1`.
InstrumentRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,40}@[1-9][0-9]{0,5}$")]
ItemCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
AnswerCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]


@registry.register
class InstrumentAnswered(DomainEvent):
    """One whole answer set to a versioned outcome instrument at one of its points, about one
    person of the case (their own answers, or the agency's follow-up about a responsible
    person), recorded only under that person's research consent: scores and codes, never
    words. Never overwritten: a point is answered once."""

    event_type = "InstrumentAnswered"
    instrument: InstrumentRef
    point: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,20}$")]
    about_id: PseudoId
    about_role: PlanRole
    answers: dict[ItemCode, int | AnswerCode] = Field(min_length=1, max_length=50)


# --- community team conferences (issue 21) ----------------------------------------------------
# A recurring review of the case by its team and the community members the harmed person agreed
# to (updates, successes, further needs). On the case stream; decided by
# mend_aftercare.domain.conferences.


class ConferenceCadence(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"  # the same local day of the month (the last day when a month is shorter)


class ConferenceMemberRole(StrEnum):
    """A community member's part in a conference (the `Role` values of the same names)."""

    SUPPORTER = "supporter"
    VOLUNTEER = "volunteer"
    INSTITUTION_REP = "institution_rep"
    PRACTITIONER = "practitioner"  # e.g. a partner service's worker, not allocated to the case


class InvitationAnswer(StrEnum):
    AGREED = "agreed"
    REFUSED = "refused"


class ConferenceNeed(StrEnum):
    """Further needs as codes, beside the sealed words, for the agency's figures."""

    HOUSING = "housing"
    EMPLOYMENT = "employment"
    EDUCATION = "education"
    THERAPEUTIC_SUPPORT = "therapeutic_support"
    SAFETY_PLANNING = "safety_planning"
    COMMUNITY_SUPPORT = "community_support"
    OTHER = "other"


class ConferenceActionKind(StrEnum):
    """What an agreed action becomes: a commitment of its owner, or an after-care item."""

    COMMITMENT = "commitment"
    CHECK_IN = "check_in"
    REFERRAL = "referral"


class ConferenceCancelCause(StrEnum):
    BY_TEAM = "by_team"
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the harmed person's participation consent (R2)
    CONSENT_INVALIDATED = "consent_invalidated"  # an incentive was reported (R1)
    CONSENT_LAPSED = "consent_lapsed"  # her grant reached its expiry
    SESSION_HALTED = "session_halted"
    CASE_CLOSED = "case_closed"


def _zone(key: str) -> str:
    try:
        ZoneInfo(key)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError("not an IANA time zone, e.g. Europe/London") from exc
    return key


# An IANA time zone name: a recurring conference keeps its local wall-clock time across DST.
Zone = Annotated[
    str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"), AfterValidator(_zone)
]
Occurrence = Annotated[int, Field(ge=1, le=10_000)]


@registry.register
class ConferenceScheduled(DomainEvent):
    """A conference (a series when `cadence` is not `once`): its first meeting as a UTC instant,
    and the zone its local time is kept in."""

    event_type = "ConferenceScheduled"
    conference_id: PseudoId
    harmed_person_id: PseudoId
    starts_at: AwareDatetime
    zone: Zone
    cadence: ConferenceCadence


@registry.register
class ConferenceMemberInvited(DomainEvent):
    """A community member invited; they take part only once the harmed person agreed."""

    event_type = "ConferenceMemberInvited"
    conference_id: PseudoId
    member_id: PseudoId
    member_role: ConferenceMemberRole


@registry.register
class ConferenceInvitationAnswered(DomainEvent):
    """The harmed person's word on one member's invitation (her own, or relayed by her
    practitioner: the envelope says which). She may change it at any time."""

    event_type = "ConferenceInvitationAnswered"
    conference_id: PseudoId
    member_id: PseudoId
    answer: InvitationAnswer


@registry.register
class ConferenceHeld(DomainEvent):
    """One meeting of a conference took place. The words are sealed under the harmed person's
    key; the needs also travel as codes."""

    event_type = "ConferenceHeld"
    personal_fields: ClassVar[tuple[str, ...]] = (
        "minutes", "updates", "successes", "further_needs",
    )  # fmt: skip
    personal_owner: ClassVar[str | None] = "harmed_person_id"
    conference_id: PseudoId
    occurrence: Occurrence
    held_at: AwareDatetime
    harmed_person_id: PseudoId
    attendee_ids: tuple[PseudoId, ...] = Field(max_length=50)
    needs: tuple[ConferenceNeed, ...] = Field(default=(), max_length=20)
    minutes: PersonalText | None = None
    updates: PersonalText | None = None
    successes: PersonalText | None = None
    further_needs: PersonalText | None = None


@registry.register
class ConferenceActionAgreed(DomainEvent):
    """An action agreed at a meeting; the commitment or after-care item it becomes follows as
    its own event with this event as its cause."""

    event_type = "ConferenceActionAgreed"
    action_id: UUID
    conference_id: PseudoId
    occurrence: Occurrence
    kind: ConferenceActionKind
    assignee_id: PseudoId  # who carries it out: the commitment's owner, the referral's owner
    participant_id: PseudoId | None = None  # whose plan a check-in or referral belongs to
    participant_role: PlanRole | None = None
    commitment_code: CommitmentCode | None = None
    referral_kind: ReferralKind | None = None
    due_on: date | None = None
    due_at: AwareDatetime | None = None


@registry.register
class ConferenceCancelled(DomainEvent):
    """By the team, or as the consequence of a withdrawal, a halt or the case's closing
    (`cause_event_id` names the event that caused it)."""

    event_type = "ConferenceCancelled"
    conference_id: PseudoId
    cause: ConferenceCancelCause
    cancelled_by_id: PseudoId | None = None  # None when the system cancelled it
    cause_event_id: UUID | None = None
