"""Who may do what in the circles service: one small function over the platform policy.

A circle is seen only by its facilitator, the people invited to it (in the role they were
invited in) and the agency's auditors; to anyone else, of this agency or another, it does not
exist (404, so not even its existence is learnt). Among those who see it:
- the facilitator manages it (`circle.manage`) and reads its staff view (`circle.read`); they
  invite a person only from a case allocated to them (`case.invite`, baseline `case.*`);
- an auditor reads the staff view (baseline: every read in the agency);
- a person in it reads the member view (`membership.read`: no ids, see service.py) and acts
  on their own membership (`membership.act`: join, leave, halt a meeting);
- coordinators and auditors list the agency's circles (`circle.list`: kind, facilitator,
  closed; no members); a practitioner lists those they facilitate.
Deny by default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import Conflict, NotFound
from mend_events.security.cases import CaseEntry, authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import BASELINE_RULES, Policy, Rule, all_of, condition, same_agency

from mend_circles.domain import CircleState

SEE = "circle.see"
FORM = "circle.form"
MANAGE = "circle.manage"
READ = "circle.read"
LIST = "circle.list"
MEMBER_READ = "membership.read"
MEMBER_ACT = "membership.act"
INVITE = "case.invite"  # on the invited person's case


@condition("the caller facilitates the circle")
def facilitates(identity: Identity, action: str, resource: Mapping[str, Any]) -> bool:
    return resource.get("facilitator_id") == identity.person_id


@condition("the caller was invited to the circle, in the role their token claims")
def in_circle(identity: Identity, action: str, resource: Mapping[str, Any]) -> bool:
    members = resource.get("members")
    return isinstance(members, Mapping) and members.get(identity.person_id) == identity.role


_FACILITATOR = all_of(same_agency, facilitates)
_MEMBER = all_of(same_agency, in_circle)

POLICY = Policy(
    [
        *BASELINE_RULES,
        Rule(SEE, {Role.PRACTITIONER}, _FACILITATOR),
        Rule(SEE, PARTICIPANT_ROLES, _MEMBER),
        Rule(SEE, {Role.AUDITOR}, same_agency),
        Rule(FORM, {Role.PRACTITIONER}, same_agency),
        Rule(MANAGE, {Role.PRACTITIONER}, _FACILITATOR),
        Rule(READ, {Role.PRACTITIONER}, _FACILITATOR),
        Rule(MEMBER_READ, PARTICIPANT_ROLES, _MEMBER),
        Rule(MEMBER_ACT, PARTICIPANT_ROLES, _MEMBER),
        Rule(LIST, {Role.COORDINATOR, Role.PRACTITIONER}, same_agency),
    ]
)


def resource(state: CircleState) -> dict[str, Any]:
    return {
        "agency": state.agency,
        "facilitator_id": state.facilitator_id,
        "members": {m.person_id: m.role for m in state.members.values()},
    }


def unknown_circle() -> NotFound:
    return NotFound("no circle with this id is known to you", field="circle_id")


def authorize(identity: Identity, action: str, state: CircleState) -> None:
    """Raise unless `identity` may take `action` on the circle: 404 for a circle not formed or
    not visible to the caller (one answer for both), 403 for one they see but may not do this
    on."""
    if not state.formed:
        if action == FORM:
            POLICY.authorize(identity, FORM, {"agency": identity.agency})
            return
        raise unknown_circle()
    found = resource(state)
    if not POLICY.decide(identity, SEE, found).allowed:
        if action == FORM:
            raise Conflict("this circle id is taken", field="circle_id")
        raise unknown_circle()
    POLICY.authorize(identity, action, found)


def authorize_invitation(identity: Identity, entry: CaseEntry | None) -> CaseEntry:
    """Naming a case's people (an invitation) is casework on that case: only a practitioner
    allocated to it (baseline `case.*`): 404 for a case not known here, 403 for another
    agency's or one not allocated to the caller."""
    return authorize_case(POLICY, identity, INVITE, entry)


def authorize_list(identity: Identity) -> None:
    POLICY.authorize(identity, LIST, {"agency": identity.agency})


def is_participant(identity: Identity) -> bool:
    return identity.role in PARTICIPANT_ROLES
