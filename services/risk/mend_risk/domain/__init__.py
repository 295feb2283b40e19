"""The risk service's pure domain. One stream per case (stream id = case id) holding its
assessments, safety plans, flags and due reassessments; `decide` and `evolve`; and the queries
other code relies on, above all `permits` (the risk half of gate R4). No I/O, no clock."""

from mend_risk.domain.state import (
    Assessment,
    Flag,
    PendingReassessment,
    RiskPolicy,
    RiskState,
    decider,
    evolve,
    initial,
)
from mend_risk.domain.queries import (
    decision_problem,
    find_assessment,
    governing_decision,
    latest_completed,
    legal_blocker,
    open_assessment,
    permits,
    permitted_forms,
    reassessment_due,
    unresolved_flags,
    unresolved_severe_flags,
)
from mend_risk.domain.decide import (
    make_decider,
)

__all__ = [
    "Assessment",
    "Flag",
    "PendingReassessment",
    "RiskPolicy",
    "RiskState",
    "decider",
    "decision_problem",
    "evolve",
    "find_assessment",
    "governing_decision",
    "initial",
    "latest_completed",
    "legal_blocker",
    "make_decider",
    "open_assessment",
    "permits",
    "permitted_forms",
    "reassessment_due",
    "unresolved_flags",
    "unresolved_severe_flags",
]
