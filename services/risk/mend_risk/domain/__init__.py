"""The risk service's pure domain. One stream per case (stream id = case id) holding its
assessments, safety plans, flags and due reassessments; `decide` and `evolve`; and the queries
other code relies on, above all `permits` (the risk half of gate R4). No I/O, no clock.

`state` (the record and its fold), `decide` (the decisions and the `decider`), `queries`."""

from mend_risk.domain.decide import decider, make_decider
from mend_risk.domain.queries import (
    decision_problem,
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
from mend_risk.domain.state import (
    Assessment,
    Flag,
    PendingReassessment,
    RiskPolicy,
    RiskState,
    evolve,
    find_assessment,
    find_flag,
    initial,
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
    "find_flag",
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
