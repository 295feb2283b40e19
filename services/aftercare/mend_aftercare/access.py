"""Who may do what in the aftercare service: one small function over the platform policy.

- A participant acts on and reads only their own after-care (`record.*` with `own_record`); the
  application layer passes their person id only when they are that case's harmed person, or a
  responsible person the case knows, so a stranger with the same role never matches.
- The allocated practitioner does the casework (`case.write`) and reads the case (`case.read`).
- An auditor reads everything in the agency (baseline); a coordinator reads only the
  commissioners' report (`report.read`), never case content; an operator nothing.
Deny by default."""

from __future__ import annotations

from mend_events.identity import Identity
from mend_events.identity_types import PARTICIPANT_ROLES, Role
from mend_events.policy import BASELINE_RULES, Policy, Rule, same_agency

POLICY = Policy([*BASELINE_RULES, Rule("report.read", {Role.COORDINATOR}, same_agency)])

# Actions, by what they touch.
CASEWORK = "case.write"  # the practitioner's work on a case
OWN_RECORD = "record.write"  # a participant's own word (the practitioner may relay it)
READ_CASE = "case.read"
READ_OWN = "record.read"
REPORT = "report.read"


def authorize(
    identity: Identity,
    action: str,
    *,
    case_id: str | None,
    agency: str | None,
    person_id: str | None = None,
) -> None:
    """Raise Forbidden unless `identity` may take `action` on this case (and person)."""
    POLICY.authorize(
        identity,
        action,
        {"agency": agency or identity.agency, "case_id": case_id, "person_id": person_id},
    )


def is_participant(identity: Identity) -> bool:
    return identity.role in PARTICIPANT_ROLES


def read_action(identity: Identity) -> str:
    """Participants read their own record; staff read the case."""
    return READ_OWN if is_participant(identity) else READ_CASE
