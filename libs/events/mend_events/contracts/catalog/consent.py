"""The consent service's events, and the vocabulary other services share with it: contact forms
and consent scopes.

A scope is a canonical string key, so it travels in JSON as itself and other services can ask
"does consent cover this?" without importing a model:

    take_part                 taking part in the process at all
    contact:<form>            one form of contact, e.g. contact:face_to_face
    share:<agency id>         sharing information with one named agency, e.g. share:police-north
    progress_updates          receiving progress updates
    outcome_research          taking part in outcome research
    circle:<circle id>        taking part in one peer support circle, e.g. circle:circle-3f9a2c1d

Build keys with `contact_scope` / `share_scope` / `circle_scope`, never by hand.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from mend_events.contracts.actors import PARTICIPANT_ROLES, AgencyId, PseudoId, Role
from mend_events.contracts.events import DomainEvent, PersonalText, registry
from mend_events.contracts.vocabulary import ContactForm, RulePackRef


class ScopeKind(StrEnum):
    TAKE_PART = "take_part"
    CONTACT = "contact"
    SHARE = "share"
    PROGRESS_UPDATES = "progress_updates"
    OUTCOME_RESEARCH = "outcome_research"
    # Taking part in one peer support circle (issue 21): a grant of its own, standing apart from
    # the case's RJ process (a person may leave contact and stay in peer support, or the reverse).
    CIRCLE = "circle"


# A peer support circle's id (services/circles), e.g. `circle-3f9a2c1d`.
CIRCLE_ID_PATTERN = r"^circle-[A-Za-z0-9_-]{4,64}$"
_CIRCLE_ID = re.compile(CIRCLE_ID_PATTERN)

TAKE_PART = ScopeKind.TAKE_PART.value
PROGRESS_UPDATES = ScopeKind.PROGRESS_UPDATES.value
OUTCOME_RESEARCH = ScopeKind.OUTCOME_RESEARCH.value
_PLAIN_SCOPES = frozenset({TAKE_PART, PROGRESS_UPDATES, OUTCOME_RESEARCH})
_FORMS = frozenset(f.value for f in ContactForm)
_agency = TypeAdapter(AgencyId)


class ScopeParts(NamedTuple):
    kind: ScopeKind
    form: ContactForm | None = None
    agency: str | None = None
    circle: str | None = None


def contact_scope(form: ContactForm | str) -> str:
    return f"{ScopeKind.CONTACT}:{ContactForm(form)}"


def share_scope(agency: str) -> str:
    return f"{ScopeKind.SHARE}:{_agency.validate_python(agency)}"


def circle_scope(circle_id: str) -> str:
    if not _CIRCLE_ID.match(circle_id):
        raise ValueError("a circle id looks like circle-3f9a2c1d")
    return f"{ScopeKind.CIRCLE}:{circle_id}"


def parse_scope(key: str) -> ScopeParts:
    """Split a scope key into its parts; ValueError (a readable one) for anything unknown."""
    if key in _PLAIN_SCOPES:
        return ScopeParts(ScopeKind(key))
    kind, _, arg = key.partition(":")
    if kind == ScopeKind.CONTACT and arg in _FORMS:
        return ScopeParts(ScopeKind.CONTACT, form=ContactForm(arg))
    if kind == ScopeKind.SHARE:
        try:
            return ScopeParts(ScopeKind.SHARE, agency=_agency.validate_python(arg))
        except ValidationError:
            pass
    if kind == ScopeKind.CIRCLE and _CIRCLE_ID.match(arg):
        return ScopeParts(ScopeKind.CIRCLE, circle=arg)
    forms = ", ".join(f"contact:{f}" for f in ContactForm)
    raise ValueError(
        "unknown scope: expected take_part, progress_updates, outcome_research, "
        f"share:<agency id>, circle:<circle id> or one of {forms}"
    )


def _checked_scope(key: str) -> str:
    parse_scope(key)
    return key


_SCOPE_PATTERN = (
    r"^(take_part|progress_updates|outcome_research|share:[a-z][a-z0-9-]{1,63}"
    r"|circle:circle-[A-Za-z0-9_-]{4,64}|contact:(" + "|".join(ContactForm) + "))$"
)

# A scope key in a model: validated by `parse_scope` (for its readable message), documented in
# the JSON schema / OpenAPI by the equivalent pattern.
ScopeKey = Annotated[
    str,
    AfterValidator(_checked_scope),
    WithJsonSchema({"type": "string", "pattern": _SCOPE_PATTERN, "examples": ["contact:letter"]}),
]


class InformedHow(StrEnum):
    """How the participant was told what they consent to before giving it."""

    VERBAL_EXPLAINED = "verbal_explained"
    WRITTEN_INFORMATION = "written_information"
    BOTH = "both"


class WithdrawalTarget(StrEnum):
    GRANT = "grant"
    SCOPE = "scope"
    EVERYTHING = "everything"


class AcknowledgementBasis(StrEnum):
    """How the responsible person expressed that they caused the harm and accept responsibility."""

    VERBAL_IN_PREPARATION = "verbal_in_preparation"
    WRITTEN_STATEMENT = "written_statement"
    GUILTY_PLEA_AFFIRMED = "guilty_plea_affirmed"


class AcknowledgementWithdrawalGround(StrEnum):
    DENIAL = "denial"
    MINIMISATION = "minimisation"
    RETRACTED = "retracted"  # withdrawn by the person, who owes no further label


class GrantRef(BaseModel):
    """A grant an event ends, with its scope: a subscriber knows what stopped without a lookup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grant_id: UUID
    scope: ScopeKey


# Events ending grants list at least one; an empty list would be a fact about nothing.
GrantRefs = Annotated[tuple[GrantRef, ...], Field(min_length=1)]


class SharePurpose(StrEnum):
    """Why a partner agency receives a person's information (the grant says which one)."""

    SAFEGUARDING = "safeguarding"  # protecting the person from further harm
    CASE_COORDINATION = "case_coordination"  # the agencies working the same case together
    VICTIM_SUPPORT = "victim_support"  # support services for the person harmed
    OFFENDER_MANAGEMENT = "offender_management"  # probation's supervision of the responsible person


class LegalBasis(StrEnum):
    """The basis under data protection law: codes, never free text. Sharing special-category
    data on a person's own grant is explicit consent (GDPR art. 6(1)(a) with art. 9(2)(a));
    the other codes exist so a grant can say when the agency relies on them as well."""

    EXPLICIT_CONSENT = "explicit_consent"  # art. 6(1)(a) + 9(2)(a)
    LEGAL_OBLIGATION = "legal_obligation"  # art. 6(1)(c)
    PUBLIC_TASK = "public_task"  # art. 6(1)(e)
    VITAL_INTERESTS = "vital_interests"  # art. 6(1)(d)


class DataCategory(StrEnum):
    """What kinds of information a share grant lets through. Each event type's fields belong to
    categories in the disclosure gateway's one reviewed allowlist
    (services/disclosure/mend_disclosure/allowlist.toml); a field of a category not granted is
    never sent.

        case_progress     the case's stage: opened, paused, resumed, closed, facilitator chosen
        session_outcomes  sessions planned, held, halted or completed, and agreements reached
        safety_concerns   risk assessments, their decisions, risk flags and safety plans
        aftercare         after-care offered, check-ins, referrals, outcome measures
        statements        the person's own words (sealed personal fields), re-encrypted for
                          the partner
    """

    CASE_PROGRESS = "case_progress"
    SESSION_OUTCOMES = "session_outcomes"
    SAFETY_CONCERNS = "safety_concerns"
    AFTERCARE = "aftercare"
    STATEMENTS = "statements"


# An event type's name as the registry knows it (checked against the registry by the command;
# the event keeps the plain shape so a replay never refuses).
EventTypeName = Annotated[str, Field(pattern=r"^[A-Z][A-Za-z]{2,63}$")]


class ShareTerms(BaseModel):
    """What a share grant lets a named agency receive, why and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: SharePurpose
    legal_basis: LegalBasis
    categories: Annotated[tuple[DataCategory, ...], Field(min_length=1, max_length=16)]
    event_types: Annotated[tuple[EventTypeName, ...], Field(min_length=1, max_length=64)]
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _coherent(self) -> ShareTerms:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("each category is named once")
        if len(set(self.event_types)) != len(self.event_types):
            raise ValueError("each event type is named once")
        return self

    def covers(self, event_type: str, at: datetime) -> bool:
        """The terms let an event of this type, occurred at `at`, through (categories apart)."""
        return event_type in self.event_types and self.valid_from <= at < self.valid_until


@registry.register
class ConsentGiven(DomainEvent):
    """A participant gave consent for one scope. Given by the participant themself (the event's
    actor); a practitioner appears only as witness. Given-at is the envelope's occurred_at.

    Version 2 adds `share_terms`: set only for a `share:<agency>` scope, and every share grant
    given from version 2 on carries them. A share grant recorded under version 1 is upcast with
    no terms, and a share grant without terms shares nothing: it names no purpose, category or
    event type, so the disclosure gateway lets nothing through under it (the person is asked
    again, with terms).

    Version 3 adds `rule_pack`, the rules the consent was recorded under (None: before rule
    packs), and `expiry_from_pack`: true when the participant named no expiry and `expires_at`
    is the pack's default (`consent.default_expiry_days`), so the request as made stays known."""

    event_type = "ConsentGiven"
    schema_version = 3

    grant_id: UUID
    participant_id: PseudoId
    participant_role: Role
    scope: ScopeKey
    informed_how: InformedHow
    # Always true: consent where an incentive was offered is never recorded (R1).
    no_incentive_attested: Literal[True]
    witnessed_by: PseudoId | None = None
    expires_at: AwareDatetime | None = None
    share_terms: ShareTerms | None = None
    rule_pack: RulePackRef | None = None
    expiry_from_pack: bool = False

    @field_validator("participant_role")
    @classmethod
    def _participant(cls, role: Role) -> Role:
        if role not in PARTICIPANT_ROLES:
            raise ValueError(f"{role} is not a participant role")
        return role

    @model_validator(mode="after")
    def _terms_only_for_sharing(self) -> ConsentGiven:
        if self.share_terms is not None and not self.scope.startswith(f"{ScopeKind.SHARE}:"):
            raise ValueError("share_terms belong only to a share:<agency> scope")
        if self.expiry_from_pack and (self.expires_at is None or self.rule_pack is None):
            raise ValueError("an expiry from the rule pack names the pack and the expiry")
        return self


@registry.upcaster("ConsentGiven", 1)
def _consent_given_v1(data: dict) -> dict:
    # Version 1 had no terms: an old share grant becomes one without terms, which shares nothing.
    return {**data, "share_terms": None}


@registry.upcaster("ConsentGiven", 2)
def _consent_given_v2(data: dict) -> dict:
    # Before rule packs: no pack, and any expiry was the participant's own.
    return {**data, "rule_pack": None, "expiry_from_pack": False}


@registry.register
class ConsentWithdrawn(DomainEvent):
    """One act of withdrawal: of a grant, of a scope, or of everything; effective at once.
    Lists every grant it ended. The reason is the participant's own, optional, and sealed."""

    event_type = "ConsentWithdrawn"
    schema_version = 1
    personal_fields = ("reason",)
    personal_owner = "participant_id"

    participant_id: PseudoId
    target: WithdrawalTarget
    scope: ScopeKey | None = None  # set when target is scope
    grants: GrantRefs
    reason: PersonalText | None = None

    @model_validator(mode="after")
    def _scope_iff_by_scope(self) -> ConsentWithdrawn:
        if (self.scope is not None) != (self.target is WithdrawalTarget.SCOPE):
            raise ValueError("scope is set exactly when the withdrawal targets a scope")
        return self


@registry.register
class ConsentLapsed(DomainEvent):
    """A grant reached its expiry. Recorded as an event so a replay sees the lapse."""

    event_type = "ConsentLapsed"
    schema_version = 1

    grant_id: UUID
    participant_id: PseudoId
    scope: ScopeKey
    expired_at: AwareDatetime


@registry.register
class IncentiveReported(DomainEvent):
    """Someone reported that an incentive was offered to a participant. Recorded even when no grant
    is left to invalidate: the report itself matters to the audit."""

    event_type = "IncentiveReported"
    schema_version = 1
    personal_fields = ("note",)
    personal_owner = "participant_id"

    report_id: UUID
    participant_id: PseudoId
    named_grant_ids: tuple[UUID, ...] | None = None  # None: every grant given before the report
    note: PersonalText | None = None


@registry.register
class ConsentInvalidated(DomainEvent):
    """Grants tainted by a reported incentive stop counting (R1). Caused by `report_id`."""

    event_type = "ConsentInvalidated"
    schema_version = 1

    participant_id: PseudoId
    report_id: UUID
    grants: GrantRefs


@registry.register
class AcknowledgementRecorded(DomainEvent):
    """A practitioner recorded that the responsible person acknowledged the harm."""

    event_type = "AcknowledgementRecorded"
    schema_version = 1
    personal_fields = ("note",)
    personal_owner = "responsible_person_id"

    responsible_person_id: PseudoId
    basis: AcknowledgementBasis
    note: PersonalText | None = None


@registry.register
class AcknowledgementWithdrawn(DomainEvent):
    """The acknowledgement no longer stands: withdrawn by the responsible person, or a denial or
    minimisation recorded by a practitioner."""

    event_type = "AcknowledgementWithdrawn"
    schema_version = 1
    personal_fields = ("note",)
    personal_owner = "responsible_person_id"

    responsible_person_id: PseudoId
    ground: AcknowledgementWithdrawalGround
    note: PersonalText | None = None


class ErasureBasis(StrEnum):
    """Why a person's personal data is erased: a code, never free text (GDPR article 17(1))."""

    DATA_SUBJECT_REQUEST = "data_subject_request"  # the person asked (art. 17(1), consent gone)
    NO_LONGER_NECESSARY = "no_longer_necessary"  # art. 17(1)(a)
    OBJECTION = "objection"  # art. 17(1)(c)
    UNLAWFUL_PROCESSING = "unlawful_processing"  # art. 17(1)(d)
    LEGAL_OBLIGATION = "legal_obligation"  # art. 17(1)(e), e.g. a court order


@registry.register
class PersonalDataErased(DomainEvent):
    """A person's personal data in one agency is erased (R7): every service destroys the data
    keys it holds for that person in the event's agency (the envelope's), made up to the
    event's occurred_at, so every text sealed under them is unreadable for ever; the history
    keeps its events and its hash chains. Who asked is the envelope's actor; on what basis, a
    code. The event itself carries no personal data. Stream: `erasure.<agency>.<person>`."""

    event_type = "PersonalDataErased"
    schema_version = 1

    person_id: PseudoId
    basis: ErasureBasis
