"""The current commissioners' report without replaying every store on each request: the cases'
tallies (`figures.fold_into`, the one definition of the figures) kept in memory and brought up
to date from each store's high-water mark, so a request reads only what was appended since the
last one. A report as of a past date still replays (`AuditReader.commissioner_report`), and
both give the same document for the same moment (tests/test_report_live.py).

Why a settling margin: the replay order is `recorded_at`, then service, then position
(`replay.order_key`), and `recorded_at` is stamped when an append's transaction starts, so an
event can commit a moment after one that sorts after it. A case's tally depends on the order of
its events, so the newest events (recorded within `settle` of the database's clock) are kept
pending and folded into copies of their cases' tallies for each report, and folded for good only
once settled. A settled event that still arrives behind one already folded (a very slow commit)
has its cases folded again from their events in the stores: exact, never approximate.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from mend_events import rules
from mend_events.contracts.envelope import RecordedEvent

from mend_audit.replay import Schemas, case_events, order_key, store_batches
from mend_audit.reports.figures import Figures, Tallies, case_of, figures_of, fold_into, rule_pack

SETTLE = timedelta(seconds=5)
_ADOPTED = "RulePackAdopted"


def _id(event: RecordedEvent) -> tuple[str, int]:
    return (event.service, event.global_position)


class Tally:
    """The pure part: the settled cases' tallies, the pending (unsettled) events, the rule pack
    adoptions, and the replay-order key of the last event folded for good."""

    def __init__(self) -> None:
        self.tallies: Tallies = {}
        self.pending: list[RecordedEvent] = []
        self.adoptions: list[RecordedEvent] = []
        self.last: tuple[Any, ...] | None = None

    def late(self, new: Iterable[RecordedEvent], horizon: datetime) -> set[str]:
        """The cases of the settled events among `new` that sort before an event already folded
        for good: their tallies are to be folded again (`take`'s `again`)."""
        if self.last is None:
            return set()
        last = self.last
        return {
            c
            for e in new
            if e.recorded_at <= horizon and order_key(e) < last and (c := case_of(e)) is not None
        }

    def take(
        self, new: list[RecordedEvent], horizon: datetime, again: Iterable[RecordedEvent] = ()
    ) -> None:
        """Events newly read from the stores: those recorded by `horizon` folded for good, the
        rest kept pending. `again`: every event in the stores of the cases `late` named, whose
        tallies are folded anew from them (their pending events stay pending)."""
        self.adoptions += [e for e in new if e.event_type == _ADOPTED]
        events = sorted([*self.pending, *new], key=order_key)
        settled = [e for e in events if e.recorded_at <= horizon]
        self.pending = [e for e in events if e.recorded_at > horizon]
        redo = {c for e in again if (c := case_of(e)) is not None}
        fold_into(self.tallies, (e for e in settled if case_of(e) not in redo))
        if redo:
            unsettled = {_id(e) for e in self.pending}
            for case in redo:
                self.tallies.pop(case, None)
            chosen = sorted((e for e in again if _id(e) not in unsettled), key=order_key)
            fold_into(self.tallies, chosen)
        if settled:
            newest = order_key(settled[-1])
            self.last = newest if self.last is None else max(self.last, newest)

    def figures(self, agency: str) -> Figures:
        """The figures with the pending events folded into copies of their cases' tallies (the
        kept tallies are left as they are)."""
        touched = {c for e in self.pending if (c := case_of(e)) is not None}
        view = dict(self.tallies)
        for case in touched & view.keys():
            view[case] = copy.deepcopy(view[case])
        return figures_of(fold_into(view, self.pending), agency)


class LiveFigures:
    """`Tally` kept up to date from the stores: one request at a time catches up."""

    def __init__(self, pool: asyncpg.Pool, schemas: Schemas, settle: timedelta = SETTLE) -> None:
        self.pool, self.schemas, self.settle = pool, dict(schemas), settle
        self.tally = Tally()
        self.marks: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def current(self, agency: str) -> tuple[Figures, rules.RulePack, datetime]:
        """The agency's figures over everything recorded now, the rule pack it has adopted by
        then, and that moment (the database's clock after reading)."""
        async with self._lock:
            moment = await self._catch_up()
            pack = rule_pack(self.tally.adoptions, agency, moment)
            return self.tally.figures(agency), pack, moment

    async def _catch_up(self) -> datetime:
        # One REPEATABLE READ snapshot of every store, as a replay reads them; the tally
        # changes only once everything is read (a failed read leaves it as it was).
        new: list[RecordedEvent] = []
        marks = dict(self.marks)
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            for service, schema in self.schemas.items():
                after = marks.get(service, 0)
                async for batch in store_batches(conn, service, schema, after_position=after):
                    new.extend(batch)
                    marks[service] = batch[-1].global_position
            moment: datetime = await conn.fetchval("SELECT clock_timestamp()")
            horizon = moment - self.settle
            late = sorted(self.tally.late(new, horizon))
            again: list[RecordedEvent] = []
            for service, schema in self.schemas.items() if late else ():
                again += await case_events(conn, service, schema, late)
        self.tally.take(new, horizon, again)
        self.marks = marks
        return moment
