"""Who may read the audit: auditors, of their own agency's cases, and only to read. One small
function over a deny-by-default policy, tested as a matrix."""

from __future__ import annotations

from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, read_only, same_agency

# Read as a table:   action    roles            condition
POLICY = Policy(
    [
        Rule("audit.*", {Role.AUDITOR}, all_of(same_agency, read_only)),
        # Aggregate, suppressed figures of their own agency: what a coordinator reports to
        # commissioners. No case, person or date of one case is in them.
        Rule("report.read", {Role.AUDITOR, Role.COORDINATOR}, all_of(same_agency, read_only)),
    ]
)

# The actions of the audit API; each verb is a read (`mend_events.security.policy.READ_VERBS`).
HISTORY = "audit.history"  # a case's timeline, state and export
HALTS = "audit.list"  # halts and withdrawals across the agency's cases
VERIFY = "audit.read"  # the integrity of the stores and the bus
REPORT = "report.read"  # the agency's commissioners' report


def authorize(
    identity: Identity, action: str, *, agency: str | None, case_id: str | None = None
) -> None:
    """Raise Forbidden unless `identity` may take `action` on a resource of `agency` (an
    unknown agency is the caller's own: a case no store knows is then a plain 404)."""
    POLICY.authorize(identity, action, {"agency": agency or identity.agency, "case_id": case_id})
