"""The figures of a commissioners' report: a pure fold over every service's events (replayed
in the audit's order), for one agency, as of the reporting date the events were read for.

Every figure counts cases or events; nothing here keeps a person's id past the fold. The
tables are partitions with a total (each case or event in exactly one cell) wherever a total
means something, so suppression (`suppression.py`) can guard them against differencing. A
case belongs to the agency that opened it (`CaseOpened.agency`), or, before it is opened, to
the agency of its first event (an invitation).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mend_events import rules
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.stages import STAGES, furthest

from mend_audit.reports.suppression import TOTAL, Link

_ROUTES = ("self_referral", "agency_on_request", "not_opened")
_ANSWERS = ("accepted", "declined", "not_answered")


@dataclass
class _Case:
    agency: str | None = None
    opened_by: str | None = None  # the route of CaseOpened
    invited_by: str | None = None  # the role that recorded an invitation, if one did
    stage: str | None = None
    reached: dict[str, datetime] = field(default_factory=dict)  # stage -> first reached
    withdrawals: list[str] = field(default_factory=list)  # the stage at each
    halts: list[tuple[str, str]] = field(default_factory=list)  # (stage, cause) of each
    scheduled: list[str] = field(default_factory=list)  # forms
    forms: dict[str, str] = field(default_factory=dict)  # session id -> form
    completed: list[str] = field(default_factory=list)  # forms
    offered: bool = False
    offer_causes: list[str] = field(default_factory=list)
    commitments: dict[str, str] = field(default_factory=dict)  # id -> open / completed / ...
    answer: str | None = None  # the last of accepted / declined
    closed: str | None = None  # the reason of CaseClosed
    check_ins: Counter = field(default_factory=Counter)  # completed / missed
    referrals: Counter = field(default_factory=Counter)  # by kind
    # An instrument's closed-choice answers (e.g. reoffending known at m12), counted by
    # "<instrument>.<item> <point>: <choice>"; its scale answers go with the scores.
    choices: Counter = field(default_factory=Counter)
    scores: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class Table:
    """A table of counts: `with_total` when its cells partition what it counts."""

    name: str
    cells: dict[str, int]
    with_total: bool


@dataclass(frozen=True)
class Figures:
    agency: str
    cases: int
    tables: tuple[Table, ...]
    days_to_stage: dict[str, list[int]]  # stage -> days from opening, one per case reaching it
    scores: dict[tuple[str, str], list[int]]  # (measure, point) -> scores


def _case_of(event: RecordedEvent) -> str | None:
    return event.case_id or None


def _apply(c: _Case, event: RecordedEvent) -> None:
    d, kind, meta = event.data, event.event_type, event.metadata
    if c.agency is None:
        c.agency = meta.agency
    at = meta.occurred_at
    if kind == "CaseOpened":
        c.agency, c.opened_by = d["agency"], d["route"]
    elif kind == "InvitationRecorded":
        c.invited_by = c.invited_by or str(meta.role)
    elif kind == "ConsentWithdrawn":
        c.withdrawals.append(c.stage or "opening")
    elif kind == "SessionHalted":
        c.halts.append((c.stage or "opening", d["cause"]))
    elif kind == "SessionScheduled":
        c.scheduled.append(d["form"])
        c.forms[d["session_id"]] = d["form"]
    elif kind == "SessionCompleted" and d["session_id"] in c.forms:
        c.completed.append(c.forms[d["session_id"]])
    elif kind == "AftercareOffered":
        c.offered = True
        c.offer_causes.append(d["cause"])
    elif kind == "CommitmentRecorded":
        c.commitments.setdefault(d["commitment_id"], "open")
    elif kind in ("CommitmentCompleted", "CommitmentNotCompleted") and (
        d["commitment_id"] in c.commitments
    ):
        done = "completed" if kind == "CommitmentCompleted" else "not_completed"
        c.commitments[d["commitment_id"]] = done
    elif kind in ("AftercareAccepted", "AftercareDeclined"):
        c.answer = "accepted" if kind == "AftercareAccepted" else "declined"
    elif kind == "CaseClosed":
        c.closed = d["reason"]
    elif kind in ("CheckInCompleted", "CheckInMissed"):
        c.check_ins["completed" if kind == "CheckInCompleted" else "missed"] += 1
    elif kind == "ReferralMade":
        c.referrals[d["kind"]] += 1
    elif kind == "OutcomeMeasureRecorded":
        c.scores[(d["measure"], d["point"])].append(int(d["score"]))
    elif kind == "InstrumentAnswered":
        for item, value in d["answers"].items():
            name = f"{d['instrument']}.{item}"
            if isinstance(value, str):
                c.choices[f"{name} {d['point']}: {value}"] += 1
            else:
                c.scores[(name, d["point"])].append(int(value))
    stage = furthest(c.stage, kind)
    if stage != c.stage and stage is not None:
        c.stage = stage
        c.reached.setdefault(stage, at)


def rule_pack(events: Iterable[RecordedEvent], agency: str, at: datetime) -> rules.RulePack:
    """The rule pack `agency` had adopted by `at`, from the hub's events among `events`."""
    adoptions = [
        (e.metadata.occurred_at, f"{e.data['pack_id']}@{e.data['version']}")
        for e in events
        if e.event_type == "RulePackAdopted" and e.data.get("agency_id") == agency
    ]
    return rules.in_force(adoptions, at)


def fold(events: Iterable[RecordedEvent], agency: str) -> Figures:
    """The report's figures for `agency` over `events` (already limited to the reporting date,
    in replay order)."""
    return figures_of(fold_into({}, events), agency)


# Each case's tally by case id: what `fold` builds, kept between reports by `live.LiveFigures`.
Tallies = dict[str, _Case]


def case_of(event: RecordedEvent) -> str | None:
    """The case an event counts for in the figures (None: it counts for none)."""
    case_id = _case_of(event)
    return case_id if case_id is not None and case_id.startswith("case-") else None


def fold_into(tallies: Tallies, events: Iterable[RecordedEvent]) -> Tallies:
    """`events` folded into the cases' tallies, in replay order: each must come after every
    event already folded into its case (a case's tally depends on the order of its events)."""
    for event in events:
        case_id = case_of(event)
        if case_id is not None:
            _apply(tallies.setdefault(case_id, _Case()), event)
    return tallies


def figures_of(tallies: Tallies, agency: str) -> Figures:
    """The figures of `agency` from the cases' tallies (which it leaves unchanged)."""
    # A case is one once opened or offered by invitation; other events alone make none.
    mine = [c for c in tallies.values() if c.agency == agency and (c.opened_by or c.invited_by)]
    return Figures(agency, len(mine), _tables(mine), _days(mine), _scores(mine))


def _zeros(keys: Iterable[str]) -> Counter:
    return Counter({key: 0 for key in keys})


def _tables(cases: list[_Case]) -> tuple[Table, ...]:
    routes = _zeros(_ROUTES)
    sources: Counter = Counter()
    take_up = _zeros(("opened", "not_opened"))
    stages = _zeros(STAGES)
    withdrawals = _zeros(STAGES)
    halts_by_stage = _zeros(STAGES)
    halt_causes: Counter = Counter()
    scheduled: Counter = Counter()
    completed: Counter = Counter()
    answers = _zeros(_ANSWERS)
    offer_causes: Counter = Counter()
    commitments = _zeros(("completed", "not_completed", "open"))
    closures: Counter = Counter()
    check_ins = _zeros(("completed", "missed"))
    referrals: Counter = Counter()
    choices: Counter = Counter()
    for c in cases:
        routes[c.opened_by or "not_opened"] += 1
        if c.invited_by is not None:
            sources[c.invited_by] += 1
            take_up["opened" if c.opened_by else "not_opened"] += 1
        stages[c.stage or "opening"] += 1
        withdrawals.update(c.withdrawals)
        for stage, cause in c.halts:
            halts_by_stage[stage] += 1
            halt_causes[cause] += 1
        scheduled.update(c.scheduled)
        completed.update(c.completed)
        if c.offered:
            answers[c.answer or "not_answered"] += 1
        offer_causes.update(c.offer_causes)
        commitments.update(c.commitments.values())
        if c.closed:
            closures[c.closed] += 1
        elif c.stage == "closed":
            closures["aftercare_closed"] += 1  # closed by after-care, no CaseClosed
        check_ins.update(c.check_ins)
        referrals.update(c.referrals)
        choices.update(c.choices)
    return (
        Table("cases_by_route", dict(routes), True),
        Table("invitations_by_source", dict(sources), True),
        Table("invitations_taken_up", dict(take_up), True),
        Table("cases_by_furthest_stage", dict(stages), True),
        Table("withdrawals_by_stage", dict(withdrawals), True),
        Table("halts_by_stage", dict(halts_by_stage), True),
        Table("halts_by_cause", dict(halt_causes), True),
        Table("sessions_scheduled_by_form", dict(scheduled), True),
        Table("sessions_completed_by_form", dict(completed), True),
        Table("aftercare_offers_answered", dict(answers), True),
        Table("aftercare_offers_by_cause", dict(offer_causes), True),
        Table("commitments_by_outcome", dict(commitments), True),
        Table("closures_by_reason", dict(closures), True),
        Table("check_ins", dict(check_ins), False),
        Table("referrals_by_kind", dict(referrals), False),
        Table("instrument_choices", dict(choices), False),
    )


# Figures that are the same number in two tables (see suppression.suppress_report).
LINKS: tuple[Link, ...] = (
    (("cases_by_route", "not_opened"), ("invitations_taken_up", "not_opened")),
    (("cases_by_route", TOTAL), ("cases_by_furthest_stage", TOTAL)),
    (("invitations_by_source", TOTAL), ("invitations_taken_up", TOTAL)),
    (("halts_by_stage", TOTAL), ("halts_by_cause", TOTAL)),
    (("closures_by_reason", TOTAL), ("cases_by_furthest_stage", "closed")),
)


def _days(cases: list[_Case]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {stage: [] for stage in STAGES[1:]}
    for c in cases:
        start = c.reached.get("opening")
        if start is None:
            continue
        for stage, at in c.reached.items():
            if stage != "opening":
                out[stage].append((at - start).days)
    return out


def _scores(cases: list[_Case]) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in cases:
        for key, values in c.scores.items():
            out[key].extend(values)
    return dict(out)
