"""Who may do what with enquiries (deny by default; `mend_events.security.policy`):

- record, list, read, change the outcome or the way back, erase it, read it (recorded), hand
  the enquirer an activation code: the agency's coordinators and practitioners (an enquiry
  comes before any case, so no allocation can decide it);
- become a registered person: the enquirer alone, signed in with the account opened from the
  enquiry's activation code (its person id is the enquiry's reference), who may also read
  their own enquiry;
- auditors, operators, other agencies and every other participant: nothing."""

from __future__ import annotations

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, own_record, same_agency

RECORD = "enquiries.record"
LIST = "enquiries.list"
READ = "enquiries.read"
WRITE = "enquiries.write"  # outcome, the way back, its erasure, an activation code
READ_CONTACT = "enquiries.contact.read"
REGISTER = "enquiries.register"

_STAFF = {Role.COORDINATOR, Role.PRACTITIONER}
_OWN = all_of(same_agency, own_record)

POLICY = Policy(
    [
        Rule(RECORD, _STAFF, same_agency),
        Rule(LIST, _STAFF, same_agency),
        Rule(READ, _STAFF, same_agency),
        Rule(READ, PARTICIPANT_ROLES, _OWN),
        Rule(WRITE, _STAFF, same_agency),
        Rule(READ_CONTACT, _STAFF, same_agency),
        Rule(REGISTER, PARTICIPANT_ROLES, _OWN),
    ]
)


def authorize(identity: Identity, action: str, *, agency: str, ref: str | None = None) -> None:
    """`agency`: the enquiry's (the caller's own for a new one or a list)."""
    if agency != identity.agency:
        raise Forbidden("this enquiry belongs to another agency", field="enquiry_ref")
    POLICY.authorize(identity, action, {"agency": agency, "person_id": ref})
