"""Who may do what in the aftercare service: one small function over the platform policy.

- A participant acts on and reads only their own after-care (`record.*` with `own_record`), and
  only on a case they take part in, in the role they claim (`member_of_case`, from the case's
  own events in the sessions service: mend_events.security.cases), so a stranger never matches.
- The allocated practitioner does the casework (`case.write`) and reads the case (`case.read`).
- An auditor reads everything in the agency (baseline); a coordinator and an operator read no
  case content (the agency's figures are the audit service's commissioners' report).
Deny by default."""

from __future__ import annotations

from functools import partial

from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.security.cases import authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import BASELINE_RULES, Policy

POLICY = Policy(BASELINE_RULES)

# Actions, by what they touch.
CASEWORK = "case.write"  # the practitioner's work on a case
OWN_RECORD = "record.write"  # a participant's own word (the practitioner may relay it)
READ_CASE = "case.read"
READ_OWN = "record.read"


# `authorize(identity, action, entry, *, person_id=None) -> CaseEntry`: raise unless `identity`
# may take `action` on the case of `entry` (and on the record of `person_id`): 404 for a case not
# known here, 403 for another agency's case or a stranger
# (mend_events.security.cases.authorize_case).
authorize = partial(authorize_case, POLICY)


def is_participant(identity: Identity) -> bool:
    return identity.role in PARTICIPANT_ROLES


def read_action(identity: Identity) -> str:
    """Participants read their own record; staff read the case."""
    return READ_OWN if is_participant(identity) else READ_CASE
