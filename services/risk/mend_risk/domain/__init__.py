"""The risk service's pure domain. One stream per case (stream id = case id) holding its
assessments, safety plans, flags and due reassessments; `decide` and `evolve`; and the queries
other code relies on, above all `permits` (the risk half of gate R4). No I/O, no clock.

`state` (the record and its fold), `decide` (the decisions and the `decider`), `queries`."""

from mend_risk.domain.decide import decider, make_decider
from mend_risk.domain.queries import governing_decision, reassessment_due, unresolved_flags
from mend_risk.domain.state import RiskPolicy, RiskState

# What other code (the audit service's folds) asks of the domain as a whole.
__all__ = [
    "RiskPolicy",
    "RiskState",
    "decider",
    "governing_decision",
    "make_decider",
    "reassessment_due",
    "unresolved_flags",
]
