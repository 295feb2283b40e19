"""The commissioners' report: counts and rates over many cases' aftercare states. Pure.

Nothing personal can reach it: it reads only codes, counts and scores from the states, and its
keys are a fixed vocabulary of codes. Small cells are the remaining risk (a commissioner who
knows a local case could recognise it), so every cell resting on fewer than `MIN_CASES` cases is
shown as `SUPPRESSED`. Cells are judged by the number of *cases* behind them, not by their value:
ten check-ins of one person are still one person. Where the parts of a shown total are listed, a
lone hidden part could be recovered by subtraction, so a second part is hidden with it; a rate
is shown only when the counts it is made of are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import fmean, median
from typing import Any

from mend_events.contracts.catalog.aftercare import (
    ClosureReason,
    CommitmentStatus,
    MeasurePoint,
    OfferCause,
    OutcomeMeasure,
)

from mend_aftercare.domain.state import AftercareState, Answer, CheckInOutcome

MIN_CASES = 5
SUPPRESSED = "<5"

Cell = int | str  # a count, or SUPPRESSED


def _cell(value: int, cases: int) -> Cell:
    return value if cases >= MIN_CASES else SUPPRESSED


def _cases(states: list[AftercareState], test: Any) -> int:
    return sum(1 for s in states if test(s))


def _case_cell(states: list[AftercareState], test: Any) -> Cell:
    n = _cases(states, test)
    return _cell(n, n)


def _partition(counts: Mapping[str, int]) -> dict[str, Cell]:
    """Parts of a shown total, each a count of cases."""
    hidden = {k for k, n in counts.items() if n < MIN_CASES}
    if len(hidden) == 1 and len(counts) > 1:
        smallest_shown = min((n, k) for k, n in counts.items() if k not in hidden)[1]
        hidden.add(smallest_shown)
    return {k: SUPPRESSED if k in hidden else n for k, n in counts.items()}


def _rate(numerator: Cell, denominator: int | Cell) -> float | str:
    if not (isinstance(numerator, int) and isinstance(denominator, int)) or denominator == 0:
        return SUPPRESSED
    return round(numerator / denominator, 2)


def _offers(states: list[AftercareState]) -> dict[str, Any]:
    offered = [s for s in states if s.offers]
    answers = _partition(
        {
            "accepted": _cases(offered, lambda s: s.last_answer is Answer.ACCEPTED),
            "declined": _cases(offered, lambda s: s.last_answer is Answer.DECLINED),
            "no_answer": _cases(offered, lambda s: s.last_answer is None),
        }
    )
    offered_cell = _case_cell(states, lambda s: bool(s.offers))
    return {
        "offered": offered_cell,
        # A case may have several causes: these cells overlap and are not parts of `offered`.
        "offered_by_cause": {
            str(c): _case_cell(offered, lambda s, c=c: c in s.offers.values()) for c in OfferCause
        },
        "answer": answers,
        "accepted_rate": _rate(answers["accepted"], offered_cell),
    }


def _closures(states: list[AftercareState]) -> dict[str, Any]:
    closed = [s for s in states if s.closed]
    return {
        "closed": _case_cell(states, lambda s: s.closed),
        "closed_by_reason": _partition(
            {str(r): _cases(closed, lambda s, r=r: s.closure_reason is r) for r in ClosureReason}
        ),
    }


def _counted(states: list[AftercareState], count: Any) -> Cell:
    """A count of things (not cases), shown only when at least MIN_CASES cases contribute."""
    per_case = [count(s) for s in states]
    return _cell(sum(per_case), sum(1 for n in per_case if n))


def _commitments(states: list[AftercareState]) -> dict[str, Any]:
    def finished(status: CommitmentStatus) -> Any:
        return lambda s: sum(1 for c in s.commitments.values() if c.status is status)

    completed = _counted(states, finished(CommitmentStatus.COMPLETED))
    not_completed = _counted(states, finished(CommitmentStatus.NOT_COMPLETED))
    both = (
        completed + not_completed
        if isinstance(completed, int) and isinstance(not_completed, int)
        else SUPPRESSED
    )
    return {
        "completed": completed,
        "not_completed": not_completed,
        "completed_rate": _rate(completed, both),
    }


def _check_ins(states: list[AftercareState]) -> dict[str, Cell]:
    def with_outcome(outcome: CheckInOutcome) -> Any:
        return lambda s: sum(1 for c in s.check_ins.values() if c.outcome is outcome)

    return {
        "completed": _counted(states, with_outcome(CheckInOutcome.COMPLETED)),
        "missed": _counted(states, with_outcome(CheckInOutcome.MISSED)),
    }


def _outcomes(states: list[AftercareState]) -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for measure in OutcomeMeasure:
        table[str(measure)] = {}
        for point in MeasurePoint:
            # One score per case per measure and point, so scores counted = cases counted.
            key = (measure, point)
            scores = [s.outcomes[key] for s in states if key in s.outcomes]
            shown = len(scores) >= MIN_CASES
            table[str(measure)][str(point)] = {
                "cases": _cell(len(scores), len(scores)),
                "mean": round(fmean(scores), 1) if shown else SUPPRESSED,
                "median": float(median(scores)) if shown else SUPPRESSED,
            }
    return table


def commissioners_report(states: Iterable[AftercareState]) -> dict[str, Any]:
    """A JSON-ready report: fixed code keys, integer counts, rounded floats, or SUPPRESSED."""
    cases = list(states)
    return {
        "min_cell_cases": MIN_CASES,
        "cases": _case_cell(cases, lambda s: True),
        **_offers(cases),
        **_closures(cases),
        "commitments": _commitments(cases),
        "check_ins": _check_ins(cases),
        "outcomes": _outcomes(cases),
    }
