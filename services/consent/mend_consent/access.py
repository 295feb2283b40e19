"""Who may do what in the consent service: one small function over the platform policy.

Participants act on and read only their own consent; the responsible person therefore never
sees the harmed person's grants or reasons. An allocated facilitator works on the case; an
auditor reads; an operator sees no case content. Deny by default."""

from __future__ import annotations

from mend_events.identity import Identity
from mend_events.identity_types import PARTICIPANT_ROLES
from mend_events.policy import BASELINE_RULES, Policy

POLICY = Policy(BASELINE_RULES)


def authorize(
    identity: Identity,
    action: str,
    *,
    case_id: str,
    agency: str | None,
    person_id: str | None = None,
) -> None:
    """Raise Forbidden unless `identity` may take `action` (e.g. `record.write`,
    `record.read`, `case.read`) on this case's record of `person_id`."""
    POLICY.authorize(
        identity,
        action,
        {
            "agency": agency or identity.agency,
            "case_id": case_id,
            "person_id": person_id,
        },
    )


def reads_only_own(identity: Identity) -> bool:
    """Participants see their own rows only; staff with access see the case's."""
    return identity.role in PARTICIPANT_ROLES
