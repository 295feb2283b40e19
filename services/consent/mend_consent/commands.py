"""Command models: the request bodies of the consent API. Bad input fails here, field by field,
before the domain sees it. The actor is never in a body: it comes from the verified token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.consent import (
    AcknowledgementBasis,
    AcknowledgementWithdrawalGround,
    DataCategory,
    InformedHow,
    LegalBasis,
    ScopeKey,
    SharePurpose,
)
from mend_events.contracts.events import registry
from mend_events.web.inputs import Moment
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)


def _blank_to_none(value: object) -> object:
    # An empty reason box means "no reason": a withdrawal must never fail on such a trifle (R2).
    if isinstance(value, str) and not value.strip():
        return None
    return value


# Free text about a person; sealed before it is stored. Bounded so a body cannot grow unbounded.
Note = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None,
    BeforeValidator(_blank_to_none),
]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _known_type(name: str) -> str:
    if not registry.knows(name):
        raise ValueError("not an event type of the platform")
    return name


class ShareTermsBody(Command):
    """The terms of a share grant as the participant chooses them (required for a share scope,
    refused for any other)."""

    purpose: SharePurpose
    legal_basis: LegalBasis = LegalBasis.EXPLICIT_CONSENT
    categories: Annotated[tuple[DataCategory, ...], Field(min_length=1, max_length=16)]
    event_types: Annotated[
        tuple[Annotated[str, AfterValidator(_known_type)], ...],
        Field(min_length=1, max_length=64),
    ]
    valid_from: Moment
    valid_until: Moment

    @model_validator(mode="after")
    def _coherent(self) -> ShareTermsBody:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("each category is named once")
        if len(set(self.event_types)) != len(self.event_types):
            raise ValueError("each event type is named once")
        return self


class GiveConsent(Command):
    participant_id: PseudoId  # must be the caller: nobody gives consent for someone else
    scope: ScopeKey
    informed_how: InformedHow
    # A plain bool (strict, so "yes" or 1 is refused): false reaches the domain, which refuses it
    # by name rather than as a type error.
    no_incentive_attested: StrictBool
    witnessed_by: PseudoId | None = None
    expires_at: Moment | None = None
    # Chosen by the client to make a retried request harmless; derived from the request otherwise.
    grant_id: UUID | None = None
    # Exactly when the scope is share:<agency>: what may be shared, why and for how long.
    share_terms: ShareTermsBody | None = None


@dataclass(frozen=True, slots=True)
class UnderConsentRules:
    """Consent as the service records it: under the rule pack in force for the case's agency
    (`mend_events.rules`), whose expiry default a grant given without an expiry takes and whose
    reference the grant records. Built by the service, never a request body."""

    command: GiveConsent
    rule_pack: str
    default_expiry_days: int


class WithdrawGrant(Command):
    grant_id: UUID
    reason: Note = None


class WithdrawGrantBody(Command):
    """The optional body of a grant withdrawal: a reason, only if the participant gives one."""

    reason: Note = None


class WithdrawScope(Command):
    participant_id: PseudoId
    scope: ScopeKey
    reason: Note = None


class WithdrawAll(Command):
    participant_id: PseudoId
    reason: Note = None


class LapseDueGrants(Command):
    """Record the lapse of every grant whose expiry has passed at the context's `now`."""


class ReportIncentive(Command):
    participant_id: PseudoId  # the participant to whom the incentive was offered
    # The grants it tainted; omitted: every grant of that participant given before the report.
    grant_ids: Annotated[tuple[UUID, ...], Field(min_length=1, max_length=200)] | None = None
    note: Note = None
    report_id: UUID | None = None

    @field_validator("grant_ids")
    @classmethod
    def _distinct(cls, ids: tuple[UUID, ...] | None) -> tuple[UUID, ...] | None:
        if ids is not None and len(set(ids)) != len(ids):
            raise ValueError("each grant is named once")
        return ids


class RecordAcknowledgement(Command):
    responsible_person_id: PseudoId
    basis: AcknowledgementBasis
    note: Note = None


class WithdrawAcknowledgement(Command):
    responsible_person_id: PseudoId
    ground: AcknowledgementWithdrawalGround = AcknowledgementWithdrawalGround.RETRACTED
    note: Note = None


ConsentCommand = (
    GiveConsent
    | UnderConsentRules
    | WithdrawGrant
    | WithdrawScope
    | WithdrawAll
    | LapseDueGrants
    | ReportIncentive
    | RecordAcknowledgement
    | WithdrawAcknowledgement
)
