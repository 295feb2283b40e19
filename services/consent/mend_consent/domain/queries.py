"""What other code asks of a consent state: the grants in force, whether a scope is covered,
whether an acknowledgement stands. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import (
    TAKE_PART,
    ScopeKind,
    parse_scope,
)

from mend_consent.domain.state import ConsentState, Grant, GrantStatus

# -------------------------------------------------------------------------------------- queries


def active_grants(
    state: ConsentState, participant_id: str | None = None, at: datetime | None = None
) -> list[Grant]:
    """Active grants, oldest first; with `at`, only those not yet expired at that moment."""
    return sorted(
        (
            g
            for g in state.grants.values()
            if g.status is GrantStatus.ACTIVE
            and (participant_id is None or g.participant_id == participant_id)
            and (at is None or g.in_force(at))
        ),
        key=lambda g: (g.given_at, str(g.grant_id)),
    )


def covers(state: ConsentState, participant_id: str, scope: str, at: datetime) -> bool:
    """Whether the participant's consent in force at `at` covers `scope` (a scope key).

    A contact form counts only while consent to take part also stands: agreeing to a letter
    exchange means nothing once the person has stepped out of the process. Sharing, progress
    updates and research stand on their own (someone may leave and still want updates).
    """
    scopes = {g.scope for g in active_grants(state, participant_id, at)}
    if parse_scope(scope).kind is ScopeKind.CONTACT and TAKE_PART not in scopes:
        return False
    return scope in scopes


def acknowledgement_stands(state: ConsentState, responsible_person_id: str) -> bool:
    ack = state.acknowledgements.get(responsible_person_id)
    return ack is not None and ack.standing


@dataclass(frozen=True, slots=True)
class CurrentGrant:
    """A row of the current-grants projection."""

    grant_id: UUID
    participant_id: str
    participant_role: Role
    scope: str
    expires_at: datetime | None


def current_grants(state: ConsentState) -> tuple[CurrentGrant, ...]:
    """The case's grants still active by status, in a stable order. Time-blind by design, like
    a stored projection: an expired grant stays here until its lapse is recorded; ask `covers`
    or `active_grants(at=...)` about a moment."""
    rows = (
        CurrentGrant(g.grant_id, g.participant_id, g.participant_role, g.scope, g.expires_at)
        for g in state.grants.values()
        if g.status is GrantStatus.ACTIVE
    )
    return tuple(sorted(rows, key=lambda r: (r.participant_id, r.scope, str(r.grant_id))))
