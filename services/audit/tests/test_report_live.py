"""The current commissioners' report from kept tallies (mend_audit.reports.live) equals a replay:
for random histories read in chunks as commits arrive late (an event committing after one that
sorts after it), the kept figures equal a fold of everything read so far; and over real stores,
the report as of now, and a replay as of that same moment made after later events were
appended, are the same document."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from mend_audit.reader import AuditReader
from mend_audit.replay import order_key
from mend_audit.reports.figures import Figures, case_of, fold
from mend_audit.reports.live import Tally
from mend_testkit.written_cases import risk_flag_journey, withdrawal_journey

from .test_report_figures import history

SETTLE = timedelta(hours=2)


def _same(figures: Figures) -> tuple:
    """Figures compared as a report reads them: the lists of days and scores as multisets (a
    case folded again may sit elsewhere in the tallies' order)."""
    return (
        figures.agency,
        figures.cases,
        figures.tables,
        {k: sorted(v) for k, v in figures.days_to_stage.items()},
        {k: sorted(v) for k, v in figures.scores.items()},
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 30), st.integers(1, 20))
def test_kept_tallies_equal_a_fold_of_everything_read(seed, cases, reads):
    rng = random.Random(seed)
    events = history(seed, cases)
    # Each event commits a while after it was stamped: at once, within the settling margin, or
    # (against history's hours to weeks between events) far later, which the margin alone
    # cannot absorb: those cases are folded again.
    delay = {id(e): timedelta(hours=rng.choice([0, 0, 1, 24, 300])) for e in events}
    arrived = sorted(events, key=lambda e: e.recorded_at + delay[id(e)])
    cuts = sorted(rng.sample(range(len(arrived) + 1), min(reads, len(arrived) + 1)))
    tally, read = Tally(), []
    for start, end in zip([0, *cuts], [*cuts, len(arrived)], strict=True):
        chunk = arrived[start:end]
        if not chunk:
            continue
        now = max(e.recorded_at + delay[id(e)] for e in chunk)
        horizon = now - SETTLE
        late = tally.late(chunk, horizon)
        read += chunk
        again = [e for e in read if case_of(e) in late]
        tally.take(chunk, horizon, again)
        replayed = sorted(read, key=order_key)
        for agency in ("agency-a", "agency-b"):
            assert _same(tally.figures(agency)) == _same(fold(replayed, agency))


async def test_the_report_now_equals_a_replay_as_of_its_moment(app_pool, audit, writer):
    reader = AuditReader(app_pool, schemas=audit.schemas)
    for n in range(5):
        await withdrawal_journey(writer, f"case-live0000{n}")
    first = await reader.commissioner_report("agency-a")
    # Recorded after the report's moment: a replay as of that moment leaves them out.
    await withdrawal_journey(writer, "case-live00005")
    await risk_flag_journey(writer, "case-live00006")
    replayed = await reader.commissioner_report("agency-a", as_of=_moment(first))
    assert replayed == first
    cases = next(t for t in first["tables"] if t["name"] == "cases_by_route")
    assert cases["total"] == 5

    # Caught up from the kept tallies (the first report's reads are not repeated): the same.
    second = await reader.commissioner_report("agency-a")
    assert second != first
    assert await reader.commissioner_report("agency-a", as_of=_moment(second)) == second

    # With no settling margin, everything read is folded for good at once: the same again.
    reader.live.settle = timedelta(0)
    await withdrawal_journey(writer, "case-live00007")
    third = await reader.commissioner_report("agency-a")
    assert not reader.live.tally.pending
    assert await reader.commissioner_report("agency-a", as_of=_moment(third)) == third


def _moment(report: dict) -> datetime:
    return datetime.fromisoformat(report["as_of"])
