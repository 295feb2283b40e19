"""Who may do what in the consent service: one small function over the platform policy.

Participants act on and read only their own consent, and only on a case they take part in, in
the role their token claims (the case directory, mend_events.security.cases); the responsible person
therefore never sees the harmed person's grants or reasons. An allocated facilitator works on
the case; an auditor reads; an operator sees no case content. Deny by default."""

from __future__ import annotations

from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.errors import Forbidden
from mend_events.security.cases import CaseEntry, authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import BASELINE_RULES, Policy

POLICY = Policy(BASELINE_RULES)


def authorize(
    identity: Identity,
    action: str,
    entry: CaseEntry | None,
    *,
    person_id: str | None = None,
) -> CaseEntry:
    """Raise unless `identity` may take `action` (e.g. `record.write`, `record.read`,
    `case.read`) on the record of `person_id` in the case of `entry`: 404 for a case not
    known here, 403 for another agency's or a stranger
    (mend_events.security.cases.authorize_case)."""
    entry = authorize_case(POLICY, identity, action, entry, person_id=person_id)
    if action == "record.write" and person_id is not None and person_id not in entry.members:
        # A practitioner relays only the word of someone who takes part in the case.
        raise Forbidden("the person named takes no part in this case", field="participant_id")
    return entry


def reads_only_own(identity: Identity) -> bool:
    """Participants see their own rows only; staff with access see the case's."""
    return identity.role in PARTICIPANT_ROLES
