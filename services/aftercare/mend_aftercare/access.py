"""Who may do what in the aftercare service: one small function over the platform policy.

- A participant acts on and reads only their own after-care (`record.*` with `own_record`), and
  only on a case they take part in, in the role they claim (`member_of_case`, from the case's
  own events in the sessions service: mend_events.security.cases), so a stranger never matches.
- The allocated practitioner does the casework (`case.write`) and reads the case (`case.read`).
- An auditor reads everything in the agency (baseline); a coordinator and an operator read no
  case content (the agency's figures are the audit service's commissioners' report).
Deny by default."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.hub import VolunteerPart
from mend_events.security.cases import authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import (
    BASELINE_RULES,
    Policy,
    Resource,
    Rule,
    all_of,
    allocated_case,
    condition,
    member_of_case,
    same_agency,
    volunteer_part,
)

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


# --- community team conferences (issue 21) ------------------------------------------------------
# Their own table, not the baseline's: an auditor reads their history (codes only: the view
# never opens the minutes for them), a coordinator manages them but reads no minutes, and a
# community member reaches only the conference the harmed person agreed to have them at.
CONF_MANAGE = "conference.manage"  # schedule, invite, cancel
CONF_RECORD = "conference.record"  # a meeting took place; an action agreed
CONF_ANSWER = "conference.answer"  # the harmed person's word on an invitation
CONF_LIST = "conference.list"
CONF_READ = "conference.read"
CONF_MINUTES = "conference_minutes.read"
CONFERENCE_ACTIONS = (CONF_MANAGE, CONF_RECORD, CONF_ANSWER, CONF_LIST, CONF_READ, CONF_MINUTES)
MEMBER_ROLES = frozenset({Role.SUPPORTER, Role.INSTITUTION_REP, Role.PRACTITIONER})


@condition("the caller is the case's harmed person")
def harmed_person(identity: Identity, action: str, resource: Resource) -> bool:
    return (
        member_of_case(identity, action, resource)
        and resource.get("harmed_person_id") == identity.person_id
    )


@condition("the harmed person agreed to the caller taking part, in the role they claim")
def taking_part(identity: Identity, action: str, resource: Resource) -> bool:
    members = resource.get("taking_part")
    return isinstance(members, Mapping) and members.get(identity.person_id) == identity.role


@condition("the caller attended the meeting")
def attended(identity: Identity, action: str, resource: Resource) -> bool:
    return taking_part(identity, action, resource) and identity.person_id in resource.get(
        "attendees", ()
    )


_TEAM = all_of(same_agency, allocated_case)
# A volunteer is a member only while the hub has them allocated to the case as a conference
# member (vetting and training current) as well as agreed to by her: either alone is not enough.
_VOLUNTEER_MEMBER = all_of(
    same_agency, taking_part, volunteer_part(VolunteerPart.CONFERENCE_MEMBER)
)
CONFERENCE_POLICY = Policy(
    [
        Rule(CONF_MANAGE, {Role.PRACTITIONER}, _TEAM),
        Rule(CONF_MANAGE, {Role.COORDINATOR}, same_agency),
        Rule(CONF_RECORD, {Role.PRACTITIONER}, _TEAM),
        Rule(CONF_ANSWER, {Role.HARMED_PERSON}, all_of(same_agency, harmed_person)),
        Rule(CONF_ANSWER, {Role.PRACTITIONER}, _TEAM),  # relaying her word
        *(
            rule
            for action in (CONF_LIST, CONF_READ)
            for rule in (
                Rule(action, {Role.PRACTITIONER}, _TEAM),
                Rule(action, {Role.COORDINATOR, Role.AUDITOR}, same_agency),
                Rule(action, {Role.HARMED_PERSON}, all_of(same_agency, harmed_person)),
                Rule(action, MEMBER_ROLES, all_of(same_agency, taking_part)),
                Rule(action, {Role.VOLUNTEER}, _VOLUNTEER_MEMBER),
            )
        ),
        Rule(CONF_MINUTES, {Role.PRACTITIONER}, _TEAM),
        Rule(CONF_MINUTES, {Role.HARMED_PERSON}, all_of(same_agency, harmed_person)),
        Rule(CONF_MINUTES, MEMBER_ROLES, all_of(same_agency, attended)),
        Rule(CONF_MINUTES, {Role.VOLUNTEER}, all_of(_VOLUNTEER_MEMBER, attended)),
    ]
)

# `authorize_conference(identity, action, entry, *, harmed_person_id=..., taking_part={id:
# role}, attendees=(...)) -> CaseEntry`: 404 for a case not known here, 403 for another
# agency's case, then the table above.
authorize_conference = partial(authorize_case, CONFERENCE_POLICY)


def may(identity: Identity, action: str, resource: Mapping[str, Any]) -> bool:
    """The table's answer for a resource already within the caller's agency (no raising)."""
    return CONFERENCE_POLICY.decide(identity, action, resource).allowed
