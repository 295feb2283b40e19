"""Command models: the request bodies of the consent API. Bad input fails here, field by field,
before the domain sees it. The actor is never in a body: it comes from the verified token."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.consent import (
    AcknowledgementBasis,
    AcknowledgementWithdrawalGround,
    InformedHow,
    ScopeKey,
)
from mend_events.web.inputs import Moment
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
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
    | WithdrawGrant
    | WithdrawScope
    | WithdrawAll
    | LapseDueGrants
    | ReportIncentive
    | RecordAcknowledgement
    | WithdrawAcknowledgement
)
