"""Who may do what in the risk service: one small function over the platform policy.

Only a practitioner of the case's agency, with the case allocated to them, records or reads a
case's risk (assessments, factors, decisions, safety plans, flags). An auditor of the agency
reads everything and changes nothing. A participant reads only the safety plans agreed with
them: never an assessment, a factor or a flag, not even one about themself (a responsible
person who learnt of a coercive-control flag could put the harmed person at risk), and never
another participant's record. Coordinators and operators see no case content. Deny by default.

    action            roles                      condition
    risk.write        practitioner               same agency, case allocated
    risk.read         practitioner               same agency, case allocated
                      auditor                    same agency (baseline: reads anything)
    safety_plan.read  practitioner, auditor      as risk.read
                      participants               same agency, member of the case, own plan
"""

from __future__ import annotations

from functools import partial

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.security.cases import authorize_case
from mend_events.security.identity import Identity
from mend_events.security.policy import (
    BASELINE_RULES,
    Policy,
    Rule,
    all_of,
    allocated_case,
    member_of_case,
    own_record,
)
from mend_events.security.policy import same_agency as _same_agency

RULES = (
    Rule("risk.*", {Role.PRACTITIONER}, all_of(_same_agency, allocated_case)),
    Rule("safety_plan.read", {Role.PRACTITIONER}, all_of(_same_agency, allocated_case)),
    Rule("safety_plan.read", PARTICIPANT_ROLES, all_of(_same_agency, member_of_case, own_record)),
)
POLICY = Policy([*BASELINE_RULES, *RULES])

WRITE = "risk.write"
READ = "risk.read"
READ_PLANS = "safety_plan.read"


# `authorize(identity, action, entry, *, person_id=None) -> CaseEntry`: raise unless `identity`
# may take `action` on the case of `entry` (and on the record of `person_id`): 404 for a case not
# known here, 403 for another agency's case or a stranger
# (mend_events.security.cases.authorize_case).
authorize = partial(authorize_case, POLICY)


def reads_only_own(identity: Identity) -> bool:
    """Participants see their own rows only; staff with access see the case's."""
    return identity.role in PARTICIPANT_ROLES
