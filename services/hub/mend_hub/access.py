"""Who may do what in the hub: one policy over the platform's baseline, deny by default.

- **The deployment's operators** (role `operator` whose token's agency is the deployment's own
  operating agency, `MEND_HUB_OPERATOR_AGENCY`, default `mend-ops`) onboard, suspend and
  reinstate agencies (`agency.govern`), read any agency's record, and may enrol an agency's
  coordinators (the first one, or a new one when none is left: `staff.enrol_coordinator`).
  An operator of any other agency can do none of this: running one agency's services gives no
  say over the others.
- **An agency's coordinators** manage their own agency: its keys and identity provider
  (`agency.configure`), its staff (`staff.write`), its allocations (`allocation.write`), and
  read its record, staff list, case allocation histories and caseloads.
- **A practitioner** reads their own caseload (`caseload.read` on their own record).
- **A community volunteer** (issue 21) reads their own caseload (each case with their part) and
  their own vetting and training record; nothing else. Coordinators record vetting and training
  (`volunteer.write`) and allocate volunteers to cases for a part (`allocation.write`).
- **An auditor** reads everything of their own agency (the baseline's read-only rule: the
  actions here that only read end in `read`, `list` or `history`).
- Nobody of agency B touches agency A: every rule holds only for the caller's own agency (or
  the deployment's operators), and a case's agency comes only from its opening
  (`authorize_case`: 404 for a case not known here, 403 for another agency's).
Participants have nothing here (their own accounts are the sign-in part's)."""

from __future__ import annotations

from functools import partial
from typing import Any

from mend_events.contracts.actors import Role
from mend_events.security.cases import authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import (
    BASELINE_RULES,
    Policy,
    Rule,
    all_of,
    condition,
    own_record,
    same_agency,
)

from mend_hub.settings import DEFAULT_OPERATOR_AGENCY as DEFAULT_OPERATOR_AGENCY
from mend_hub.settings import HubSettings


def operator_agency() -> str:
    """The deployment's own operating agency: its operators govern the agencies."""
    return HubSettings.load().hub_operator_agency


@condition("the caller operates this deployment (an operator of its operating agency)")
def deployment_operator(identity: Identity, action: str, resource: Any) -> bool:
    wanted = resource.get("operator_agency")
    return isinstance(wanted, str) and identity.agency == wanted


# Actions, by what they touch.
GOVERN = "agency.govern"  # onboard, suspend, reinstate
CONFIGURE = "agency.configure"  # keys, identity provider
READ_AGENCY = "agency.read"
STAFF_WRITE = "staff.write"
ENROL_COORDINATOR = "staff.enrol_coordinator"
STAFF_LIST = "staff.list"
ALLOCATE = "allocation.write"
HISTORY = "allocation.history"
CASELOAD = "caseload.read"
VOLUNTEER_WRITE = "volunteer.write"  # vetting and training records
VOLUNTEER_READ = "volunteer.read"

COORD, OPS, PRAC = {Role.COORDINATOR}, {Role.OPERATOR}, {Role.PRACTITIONER}
VOL = {Role.VOLUNTEER}

POLICY = Policy(
    [
        *BASELINE_RULES,
        # action             roles   condition
        Rule(GOVERN,            OPS,   deployment_operator),
        Rule(READ_AGENCY,       OPS,   deployment_operator),
        Rule(ENROL_COORDINATOR, OPS,   deployment_operator),
        Rule(ENROL_COORDINATOR, COORD, same_agency),
        Rule(READ_AGENCY,       COORD, same_agency),
        Rule(CONFIGURE,         COORD, same_agency),
        Rule(STAFF_WRITE,       COORD, same_agency),
        Rule(STAFF_LIST,        COORD, same_agency),
        Rule(ALLOCATE,          COORD, same_agency),
        Rule(HISTORY,           COORD, same_agency),
        Rule(CASELOAD,          COORD, same_agency),
        Rule(CASELOAD,          PRAC,  all_of(same_agency, own_record)),
        Rule(VOLUNTEER_WRITE,   COORD, same_agency),
        Rule(VOLUNTEER_READ,    COORD, same_agency),
        # a volunteer: their own caseload (each case with their part) and their own record
        Rule(CASELOAD,          VOL,   all_of(same_agency, own_record)),
        Rule(VOLUNTEER_READ,    VOL,   all_of(same_agency, own_record)),
    ]
)  # fmt: skip


def authorize(
    identity: Identity, action: str, agency_id: str, *, person_id: str | None = None
) -> None:
    """Raise Forbidden unless `identity` may take `action` on agency `agency_id`'s records
    (`person_id`: whose record, for a caseload)."""
    POLICY.authorize(
        identity,
        action,
        {"agency": agency_id, "operator_agency": operator_agency(), "person_id": person_id},
    )


# `authorize_on_case(identity, action, entry) -> CaseEntry`: an allocation or its history on the
# case of `entry`: 404 for a case not known here, 403 for another agency's
# (mend_events.security.cases.authorize_case), then the policy.
authorize_on_case = partial(authorize_case, POLICY)
