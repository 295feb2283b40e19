"""Who may read or change which part of a person's record in the people directory: one rule,
here, for every route (deny by default; `mend_events.security.policy`).

- register a person: the agency's coordinators;
- change details and contact routes: the agency's coordinators; the person themselves;
- read details, read contact routes: the agency's coordinators; the person themselves; a
  practitioner allocated to a case of the agency that the person takes part in;
- read who read the contact routes: the agency's auditors and coordinators; the person.

- A participant reads and changes only their own record, so the responsible person never sees
  the harmed person's details, even when both take part in one case (R8); nor does a supporter.
- A practitioner reaches the person only through a case: one the person takes part in (the case
  directory, from the sessions service's events) that is allocated to them (the hub's own
  allocations, never a list in their token). The case is named in the read's record.
- An auditor sees the read log (who read, when, why), never the details themselves: unlike the
  baseline's "auditors read everything", none of the baseline's rules applies here.
- Another agency sees nothing. There is no sharing grant for a person's details yet: when one
  exists (the person's consent to share with a named agency), it becomes one more rule here.
- Operators and the system actor: nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, condition, own_record, same_agency

REGISTER = "people.register"
WRITE = "people.record.write"  # details and contact routes
READ_DETAILS = "people.details.read"
READ_CONTACT = "people.contact.read"
READ_LOG = "people.reads.list"
ACTIONS = (REGISTER, WRITE, READ_DETAILS, READ_CONTACT, READ_LOG)


@condition("a case the person takes part in is allocated to the caller")
def allocated_to_their_case(identity: Identity, action: str, resource: Mapping[str, Any]) -> bool:
    # `via_cases`: the person's cases (of the agency) allocated to the caller (`relations`).
    cases = resource.get("via_cases")
    return isinstance(cases, tuple | list | frozenset | set) and len(cases) > 0


_OWN = all_of(same_agency, own_record)
_THROUGH_A_CASE = all_of(same_agency, allocated_to_their_case)

RULES: tuple[Rule, ...] = (
    Rule(REGISTER, {Role.COORDINATOR}, same_agency),
    Rule(WRITE, {Role.COORDINATOR}, same_agency),
    Rule(WRITE, PARTICIPANT_ROLES, _OWN),
    Rule(READ_DETAILS, {Role.COORDINATOR}, same_agency),
    Rule(READ_DETAILS, PARTICIPANT_ROLES, _OWN),
    Rule(READ_DETAILS, {Role.PRACTITIONER}, _THROUGH_A_CASE),
    Rule(READ_CONTACT, {Role.COORDINATOR}, same_agency),
    Rule(READ_CONTACT, PARTICIPANT_ROLES, _OWN),
    Rule(READ_CONTACT, {Role.PRACTITIONER}, _THROUGH_A_CASE),
    Rule(READ_LOG, {Role.AUDITOR, Role.COORDINATOR}, same_agency),
    Rule(READ_LOG, PARTICIPANT_ROLES, _OWN),
)
POLICY = Policy(RULES)


def needs_cases(identity: Identity) -> bool:
    """Whether the decision for this caller depends on their allocated cases (a lookup that
    only practitioners' decisions need)."""
    return identity.role == Role.PRACTITIONER


def authorize(
    identity: Identity,
    action: str,
    *,
    person_id: str,
    agency: str | None,
    via_cases: Iterable[str] = (),
) -> None:
    """Raise Forbidden unless `identity` may take `action` on the record of `person_id`, held
    by `agency` (None: a person not in the directory, checked by the caller first)."""
    if agency is not None and agency != identity.agency:
        raise Forbidden("this person belongs to another agency", field="person_id")
    POLICY.authorize(
        identity,
        action,
        {"agency": agency, "person_id": person_id, "via_cases": tuple(sorted(via_cases))},
    )
