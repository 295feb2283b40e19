"""The rule pack's factor rules (`mend_events.rules.FactorRules`) applied to an assessment: the
factor kinds still to record before a full assessment may be completed, and the weighted
indicator shown beside a decision. Pure.

The indicator informs; it never decides. No decision is permitted or refused by its score: the
practitioner decides and a specialist signs the decision off (DOMAIN.md stage 6)."""

from __future__ import annotations

from typing import Any

from mend_events import rules
from mend_events.contracts.catalog.risk import FactorKind, FactorStatus, RiskFactor


def missing_factors(
    factors: tuple[RiskFactor, ...], required: tuple[FactorKind, ...]
) -> list[FactorKind]:
    """The required kinds with no record at all (present, absent or unknown all count)."""
    recorded = {f.kind for f in factors}
    return [kind for kind in required if kind not in recorded]


def indicator(factors: tuple[RiskFactor, ...], pack: rules.RulePack) -> dict[str, Any]:
    """The weights of the kinds recorded present, against their sum over every kind; the kinds
    recorded unknown are listed apart (an unknown is a question still open, not a zero)."""
    weights = pack.factors.weights
    present = sorted({f.kind for f in factors if f.status is FactorStatus.PRESENT})
    unknown = sorted({f.kind for f in factors if f.status is FactorStatus.UNKNOWN} - set(present))
    return {
        "rule_pack": pack.ref,
        "score": sum(weights[k] for k in present),
        "out_of": sum(weights.values()),
        "present": [str(k) for k in present],
        "unknown": [str(k) for k in unknown],
        "missing": [str(k) for k in missing_factors(factors, pack.factors.required)],
        "decides": False,  # an aid to judgement: the decision is the practitioner's
    }
