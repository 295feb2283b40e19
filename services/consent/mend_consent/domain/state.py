"""The consent state of one case and its fold (`evolve`): grants with their ends, and the
responsible person's acknowledgement. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import (
    AcknowledgementBasis,
    AcknowledgementRecorded,
    AcknowledgementWithdrawalGround,
    AcknowledgementWithdrawn,
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
    GrantRef,
    IncentiveReported,
    InformedHow,
    ShareTerms,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent

# ---------------------------------------------------------------------------------------- state


class GrantStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    INVALIDATED = "invalidated"


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: UUID
    participant_id: str
    participant_role: Role
    scope: str
    informed_how: InformedHow
    witnessed_by: str | None
    given_at: datetime
    expires_at: datetime | None
    status: GrantStatus = GrantStatus.ACTIVE
    ended_at: datetime | None = None
    ended_by_role: Role | None = None  # the participant, a practitioner relaying them, system...
    share_terms: ShareTerms | None = None  # a share grant's terms (none: it shares nothing)
    rule_pack: str | None = None  # the rules it was recorded under (None: before rule packs)
    expiry_from_pack: bool = False  # the expiry is the pack's default, not the participant's

    @property
    def requested_expiry(self) -> datetime | None:
        """The expiry as the participant asked for it (None: they named none)."""
        return None if self.expiry_from_pack else self.expires_at

    def in_force(self, at: datetime) -> bool:
        return self.status is GrantStatus.ACTIVE and (
            self.expires_at is None or at < self.expires_at
        )


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    responsible_person_id: str
    standing: bool
    basis: AcknowledgementBasis
    recorded_at: datetime
    withdrawn_at: datetime | None = None
    ground: AcknowledgementWithdrawalGround | None = None


@dataclass(frozen=True, slots=True)
class ConsentState:
    """Mappings are never mutated: `evolve` builds new ones, so a state is a value."""

    case_id: str
    grants: Mapping[UUID, Grant] = field(default_factory=dict)
    acknowledgements: Mapping[str, Acknowledgement] = field(default_factory=dict)
    incentive_reports: frozenset[UUID] = frozenset()


def initial(case_id: str) -> ConsentState:
    return ConsentState(case_id=case_id)


# --------------------------------------------------------------------------------------- evolve


def evolve(state: ConsentState, event: DomainEvent, meta: Metadata) -> ConsentState:
    """Apply a stored event. Never raises: an event that does not fit is ignored, not fatal."""
    at = meta.occurred_at
    match event:
        case ConsentGiven():
            if event.grant_id in state.grants:
                return state
            grant = Grant(
                grant_id=event.grant_id,
                participant_id=event.participant_id,
                participant_role=event.participant_role,
                scope=event.scope,
                informed_how=event.informed_how,
                witnessed_by=event.witnessed_by,
                given_at=at,
                expires_at=event.expires_at,
                share_terms=event.share_terms,
                rule_pack=event.rule_pack,
                expiry_from_pack=event.expiry_from_pack,
            )
            return replace(state, grants={**state.grants, grant.grant_id: grant})
        case ConsentWithdrawn():
            return _end(state, event.grants, GrantStatus.WITHDRAWN, at, meta.role)
        case ConsentInvalidated():
            return _end(state, event.grants, GrantStatus.INVALIDATED, at, meta.role)
        case ConsentLapsed():
            # Lapsed as of the expiry itself, whenever the lapse was noticed.
            ref = GrantRef(grant_id=event.grant_id, scope=event.scope)
            return _end(state, (ref,), GrantStatus.LAPSED, event.expired_at, meta.role)
        case IncentiveReported():
            return replace(state, incentive_reports=state.incentive_reports | {event.report_id})
        case AcknowledgementRecorded():
            ack = Acknowledgement(event.responsible_person_id, True, event.basis, at)
            return _with_ack(state, ack)
        case AcknowledgementWithdrawn():
            ack = state.acknowledgements.get(event.responsible_person_id)
            if ack is None:
                return state
            return _with_ack(
                state, replace(ack, standing=False, withdrawn_at=at, ground=event.ground)
            )
    return state


def _end(
    state: ConsentState, refs: Iterable[GrantRef], status: GrantStatus, at: datetime, role: Role
) -> ConsentState:
    # Only an active grant can end: the first ending is the one that counts in the history.
    ended = {
        ref.grant_id: replace(g, status=status, ended_at=at, ended_by_role=role)
        for ref in refs
        if (g := state.grants.get(ref.grant_id)) is not None and g.status is GrantStatus.ACTIVE
    }
    return replace(state, grants={**state.grants, **ended}) if ended else state


def _with_ack(state: ConsentState, ack: Acknowledgement) -> ConsentState:
    acks = {**state.acknowledgements, ack.responsible_person_id: ack}
    return replace(state, acknowledgements=acks)
