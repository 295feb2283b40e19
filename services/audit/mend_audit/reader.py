"""What an auditor asks, HTTP-free: shared by the command line and the read-only API.

Every answer is replayed from the stores at the moment of asking (SELECT only, services may be
stopped), so it can never lag behind them; the stored projection (`projection.py`) holds the
same entries for reporting and is rebuilt from the same replay. The one exception is the current
commissioners' report: its cases' tallies are kept in memory and brought up to date from the
stores' high-water marks on each request (reports/live.py), equal to a replay of that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from mend_events import metrics
from mend_events.app.settings import DISCLOSURE
from mend_events.errors import NotFound, Rejected
from mend_events.store.disclosure_ledger import Ledger

from mend_audit import export
from mend_audit.case_file import document
from mend_audit.entries import HALT_KINDS, entry_of, iso
from mend_audit.history import CaseHistory, halts
from mend_audit.replay import Schemas, cases_with, read_events, select_schemas
from mend_audit.reports import figures as report_figures
from mend_audit.reports import output as report_output
from mend_audit.reports.live import LiveFigures
from mend_audit.verify import verify
from mend_audit.verify_report import Report


def parse_moment(text: str, field: str = "as_of") -> datetime:
    """An ISO 8601 moment (`2025-03-01`, `2025-03-01T14:30`, `...Z`, `...+02:00`); without a
    timezone it is read as UTC. Rejected, naming the field, when it is not one."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Rejected(
            f"{text!r} is not a moment: use ISO 8601, e.g. 2025-03-01T14:30:00Z", field=field
        ) from None
    return aware(moment)


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class AuditReader:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schemas: Schemas | None = None,
        bootstrap: str | None = None,
        topic_prefix: str = "",
        ledger_schema: str | None = None,
    ) -> None:
        self.pool = pool
        # The deployment's ledger where the deployment's stores are read; a reader given stores
        # of its own (a test's schemas) reads a ledger only when told which: never the
        # deployment's, whose rows are no part of those stores.
        self.ledger_schema = ledger_schema or (DISCLOSURE if schemas is None else None)
        self.schemas = select_schemas(schemas)
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        # The current report's figures, kept up to date from the stores (reports/live.py).
        self.live = LiveFigures(pool, self.schemas)

    async def _case_events(self, case: str, as_of: datetime | None) -> list[Any]:
        events = await read_events(self.pool, schemas=self.schemas, case=case, as_of=as_of)
        if not events and (
            as_of is None or not await read_events(self.pool, schemas=self.schemas, case=case)
        ):
            raise NotFound(f"no events of case {case} in any store", field="case")
        return events

    async def case_agency(self, case: str) -> str | None:
        """The agency under which the case was opened (None when no store knows the case)."""
        events = await read_events(self.pool, schemas=self.schemas, case=case)
        return CaseHistory(case, (entry_of(e) for e in events)).agency

    async def history(self, case: str, as_of: datetime | None = None) -> dict[str, Any]:
        """The case document: timeline, halts and state as of `as_of` (default: as recorded)."""
        as_of = aware(as_of) if as_of else None
        return document(case, await self._case_events(case, as_of), as_of=as_of)

    async def halts(
        self,
        *,
        case: str | None = None,
        since: datetime | None = None,
        as_of: datetime | None = None,
        agencies: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every halt and withdrawal (of one case, recorded since `since`), with cause and
        consequences; `agencies` keeps only cases opened under one of them."""
        since = aware(since) if since else None
        as_of = aware(as_of) if as_of else None
        if case is not None:
            cases = [case]
            await self._case_events(case, as_of)
        else:
            cases = await cases_with(
                self.pool, HALT_KINDS, schemas=self.schemas, since=since, as_of=as_of
            )
        events = await read_events(self.pool, schemas=self.schemas, cases=cases, as_of=as_of)
        by_case: dict[str, list[Any]] = {}
        for e in events:
            by_case.setdefault(e.stream_id, []).append(entry_of(e))
        wanted = set(agencies) if agencies is not None else None
        chosen = [
            h
            for h in (CaseHistory(c, by_case.get(c, ())) for c in cases)
            if wanted is None or h.agency in wanted
        ]
        return halts(chosen, since=iso(since) if since else None)

    async def verify(
        self,
        *,
        services: Iterable[str] | None = None,
        kafka: bool = True,
        dsn: str | None = None,
        jobs: int = 1,
    ) -> Report:
        """See `mend_audit.verify.verify`; with the database's `dsn`, a large store's chains are
        hashed by `jobs` worker processes."""
        report = await verify(
            self.pool,
            dsn=dsn,
            jobs=jobs,
            schemas=self.schemas,
            services=services,
            bootstrap=self.bootstrap,
            topic_prefix=self.topic_prefix,
            kafka=kafka and self.bootstrap is not None,
            ledger_schema=self.ledger_schema,
        )
        metrics.VERIFY_RUNS.labels("ok" if report.ok else "failed").inc()
        metrics.VERIFY_FAILURES.inc(len(report.problems))
        return report

    async def commissioner_report(
        self, agency: str, as_of: datetime | None = None
    ) -> dict[str, Any]:
        """The agency's figures for commissioners as recorded by `as_of`, replayed from every
        store, or (no `as_of`) as recorded now, from the kept tallies brought up to date
        (reports/live.py: no replay per request); suppressed below the threshold of the rule
        pack the agency had adopted by then: the same document for the same moment, however
        much was recorded after it."""
        if as_of is None:
            figures, pack, moment = await self.live.current(agency)
        else:
            moment = aware(as_of)
            events = await read_events(self.pool, schemas=self.schemas, as_of=moment)
            pack = report_figures.rule_pack(events, agency, moment)
            figures = report_figures.fold(events, agency)
        return report_output.document(
            figures, as_of=moment, threshold=pack.reports.min_cell, rule_pack=pack.ref
        )

    async def disclosures(self, person_id: str) -> list[dict[str, Any]]:
        """Who learned what about `person_id`, when, under which grant: the disclosure
        ledger's rows naming them (issue 18), oldest first; none without a gateway."""
        async with self.pool.acquire() as conn:
            if (
                await conn.fetchval(
                    "SELECT to_regclass($1)", f"{self.ledger_schema}.disclosure_ledger"
                )
                is None
            ):
                return []
            return await Ledger(self.ledger_schema).about(conn, person_id)

    async def export(self, case: str, fmt: str, as_of: datetime | None = None) -> bytes:
        if fmt not in export.FORMATS:
            raise Rejected(f"unknown format {fmt!r}: expected json or csv", field="format")
        return export.case_file(await self.history(case, as_of), fmt)
