"""Who may ask for what: the service's access policy (deny by default). The checks every
decision starts with within a case are the domain's (domain/guards.py)."""

from __future__ import annotations

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.hub import VolunteerPart
from mend_events.security.cases import CaseEntry, authorize_case
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
    own_record,
    same_agency,
    volunteer_part,
)

from mend_sessions.domain.state import CaseState

# --- the policy: who may ask for what (deny by default) -------------------------------------
# The decisions refuse within a case (domain/guards.py: only the harmed person leads, only the
# facilitator starts); the policy below decides first whether the caller may address the case.


@condition("the caller takes part in the session")
def in_session(identity: Identity, action: str, resource: Resource) -> bool:
    people = resource.get("participants")
    return isinstance(people, list | tuple | set | frozenset) and identity.person_id in people


_HP = {Role.HARMED_PERSON}
_REFERRERS = {Role.PRACTITIONER, Role.COORDINATOR, Role.SUPPORTER, Role.INSTITUTION_REP}
# person_id: the case's harmed person
_HARMED_PERSONS_OWN = all_of(same_agency, member_of_case, own_record)
_TAKING_PART = all_of(same_agency, member_of_case, in_session)
_SUPPORT_PERSON = volunteer_part(VolunteerPart.SUPPORT_PERSON)

# Read as a table:  action                roles                          condition
SESSIONS_RULES: tuple[Rule, ...] = (
    # Only the harmed person opens their case; an agency opens it only at their request (the
    # domain checks the route). Anyone else, the responsible person above all: no rule.
    Rule("case.open", _HP, all_of(same_agency, own_record)),  # nobody is a member before
    Rule("case.open", {Role.PRACTITIONER, Role.COORDINATOR}, same_agency),
    Rule("case.invite", _REFERRERS, same_agency),
    # Enrolling a participant: the allocated practitioner (baseline `case.*`) or a coordinator
    # of the case's agency; the domain checks the harmed person agreed.
    Rule("case.enrol", {Role.COORDINATOR}, same_agency),
    # The harmed person's own choices: nobody else has a rule for `lead.*`.
    Rule("lead.*", _HP, _HARMED_PERSONS_OWN),
    # Pace, scheduling, closing and reading their case; practitioners through the baseline
    # (`case.*` on allocated cases) and `session.*` below.
    Rule("case.pause", _HP, _HARMED_PERSONS_OWN),
    Rule("case.resume", _HP, _HARMED_PERSONS_OWN),
    Rule("case.close", _HP, _HARMED_PERSONS_OWN),
    Rule("case.read", _HP, _HARMED_PERSONS_OWN),
    Rule("session.schedule", _HP, _HARMED_PERSONS_OWN),
    # A facilitator works only on the cases allocated to them.
    Rule("session.*", {Role.PRACTITIONER}, all_of(same_agency, allocated_case)),
    # Anyone taking part may stop a session, and see the sessions they take part in.
    Rule("session.halt", PARTICIPANT_ROLES, _TAKING_PART),
    Rule("session.read", PARTICIPANT_ROLES, _TAKING_PART),
    # Letters and shuttle messages: the parties of the session write them (the domain: only
    # its author); its practitioners review them (`session.*`); `participants` names who may
    # open one (its author, its recipient once delivered), and for a list the case's people.
    Rule("session.letter.write", PARTICIPANT_ROLES, _TAKING_PART),
    Rule("session.letter.list", PARTICIPANT_ROLES, _TAKING_PART),
    Rule("session.letter.open", PARTICIPANT_ROLES, _TAKING_PART),
    # Meetings: the allocated practitioner arranges and calls off any (`session.*`), the harmed
    # person arranges her own preparation (the domain checks whose); `participants` names the
    # people a meeting is for, who each answer for themself; a participant lists only hers.
    Rule("session.meeting.arrange", _HP, _HARMED_PERSONS_OWN),
    Rule("session.meeting.respond", PARTICIPANT_ROLES, _TAKING_PART),
    Rule("session.meeting.cancel", PARTICIPANT_ROLES, _TAKING_PART),
    Rule("session.meeting.list", PARTICIPANT_ROLES, all_of(same_agency, member_of_case)),
    # A community volunteer allocated to the case as a support person (issue 21) lists the
    # times and arrangements of the meetings that ask for a support person, nothing more
    # (meetings.py: no place, note, attendees or causes); nothing else of the case: no risk,
    # consent, notes, materials, letters or minutes.
    Rule("session.meeting.list", {Role.VOLUNTEER}, all_of(same_agency, _SUPPORT_PERSON)),
    # The harmed person's own materials: hers to write, list and open (own_record); the
    # allocated team lists and opens what she shares (baseline `case.*`; the domain: shared);
    # the auditor lists ids and codes of what is shared, never opens an item.
    Rule("case.material.*", _HP, _HARMED_PERSONS_OWN),
    # Case notes: the allocated team writes, shares, lists and opens them (baseline `case.*`);
    # a participant lists and opens only a note shared with them (`participants`: its
    # sharing); the auditor lists them (ids and codes), never opens one.
    Rule("case.note.list", PARTICIPANT_ROLES, all_of(same_agency, member_of_case)),
    Rule("case.note.open", PARTICIPANT_ROLES, _TAKING_PART),
    # Referrals: whoever may refer within the agency, or the person themself (own_record:
    # person_id is whom it refers); their outcome: the agency's staff. The responsible person's
    # answer: the allocated practitioner (baseline `case.*`).
    Rule("referral.record", _REFERRERS, same_agency),
    Rule("referral.record", _HP, all_of(same_agency, own_record)),
    Rule("referral.outcome", {Role.PRACTITIONER, Role.COORDINATOR}, same_agency),
    # The registry: coordinators manage it; those who choose or work with practitioners list it.
    Rule("registry.register", {Role.COORDINATOR}, same_agency),
    Rule("registry.list", {Role.HARMED_PERSON, Role.PRACTITIONER, Role.COORDINATOR}, same_agency),
)

POLICY = Policy([*BASELINE_RULES, *SESSIONS_RULES])


def authorize(
    identity: Identity,
    action: str,
    *,
    case_id: str | None,
    agency: str | None,
    person_id: str | None = None,
    participants: frozenset[str] | None = None,
) -> None:
    """Raise Forbidden unless `identity` may take `action` on this case. `person_id` is whose
    record the action touches (the harmed person for `lead.*` and their case actions);
    `participants` the people of the session concerned (for halting and reading)."""
    POLICY.authorize(
        identity,
        action,
        {
            "agency": agency or identity.agency,
            "case_id": case_id,
            "person_id": person_id,
            "participants": participants or frozenset(),
        },
    )


def case_entry(state: CaseState) -> CaseEntry | None:
    """This service's directory entry of a case: its own fold of the case stream (the same
    facts the other services take in from CaseOpened and ParticipantEnrolled)."""
    if state.opened is None:
        return None
    return CaseEntry(
        case_id=state.case_id,
        agency=state.opened.agency,
        harmed_person_id=state.opened.harmed_person_id,
        members={p: Role(str(r)) for p, r in state.members.items()},
    )


def authorize_on_case(
    identity: Identity,
    action: str,
    state: CaseState,
    *,
    participants: frozenset[str] | None = None,
) -> None:
    """`action` on an opened case (mend_events.security.cases.authorize_case): the harmed person's
    record is the case's, so their rules (own_record) name the harmed person; `participants`
    the people of the session concerned (for halting and reading)."""
    authorize_case(
        POLICY,
        identity,
        action,
        case_entry(state),
        person_id=state.harmed_person_id,
        participants=participants or frozenset(),
    )
