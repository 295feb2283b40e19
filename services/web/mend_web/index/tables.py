"""The case index's tables: each event folds into its case's entry (`model.evolve`) and the
rows the queries read are written anew from the entry, in the caller's transaction (the inbox
consumer's, so an event applies exactly once). `write` is also the bulk path (benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar

import asyncpg
import orjson
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store.projection import OwnTables

from mend_web.index import model

TABLES = ("case_index", "case_index_staff", "case_index_participants", "case_index_due")


class CaseIndex(OwnTables):
    """A projection (`apply`, `reset`) of the services' events into the index's tables."""

    name = "case_index"
    tables: ClassVar[tuple[str, ...]] = TABLES

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        entries: dict[str, model.Entry] = {}
        for event in events:
            case_id = model.case_of(event)
            if case_id is None:
                continue
            if case_id not in entries:
                entries[case_id] = await self._load(conn, case_id)
            entries[case_id] = model.evolve(entries[case_id], event)
        await self.write(conn, entries.values(), replace=True)

    async def on_event(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """The inbox consumer's handler: one event."""
        await self.apply(conn, [event])

    async def _load(self, conn: asyncpg.Connection, case_id: str) -> model.Entry:
        raw = await conn.fetchval(
            f"SELECT entry FROM {self.schema}.case_index WHERE case_id = $1 FOR UPDATE", case_id
        )
        return orjson.loads(raw) if raw is not None else model.empty(case_id)

    async def write(
        self, conn: asyncpg.Connection, entries: Iterable[model.Entry], *, replace: bool
    ) -> None:
        """The rows of `entries` (`replace`: their cases' derived rows are deleted first)."""
        entries = list(entries)
        if not entries:
            return
        s, ids = self.schema, [e["case_id"] for e in entries]
        if replace:
            for table in TABLES[1:]:
                await conn.execute(f"DELETE FROM {s}.{table} WHERE case_id = ANY($1)", ids)
        rows, staff, people, due = [], [], [], []
        for e in entries:
            items = model.due_items(e)
            rows.append((
                e["case_id"], e["agency"], e["opened"], e["stage"], e["harm_category"],
                model.gates(e), items[0][2] if items else None, _when(e["last_activity"]),
                orjson.dumps(e).decode(),
            ))  # fmt: skip
            if e["agency"] is None:
                continue
            staff += [(e["agency"], p, e["case_id"]) for p in e["practitioners"]]
            people += [(e["agency"], p, e["case_id"], r) for p, r in e["participants"].items()]
            due += [(e["case_id"], kind, ref, at) for kind, ref, at in items]
        await conn.executemany(
            f"INSERT INTO {s}.case_index (case_id, agency, opened, stage, harm_category, gates, "
            f"next_due, last_activity, entry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) "
            f"ON CONFLICT (case_id) DO UPDATE SET agency = EXCLUDED.agency, "
            f"opened = EXCLUDED.opened, stage = EXCLUDED.stage, "
            f"harm_category = EXCLUDED.harm_category, gates = EXCLUDED.gates, "
            f"next_due = EXCLUDED.next_due, last_activity = EXCLUDED.last_activity, "
            f"entry = EXCLUDED.entry",
            rows,
        )
        for table, columns, values in (
            ("case_index_staff", ("agency", "practitioner_id", "case_id"), staff),
            ("case_index_participants", ("agency", "person_id", "case_id", "role"), people),
            ("case_index_due", ("case_id", "kind", "ref", "due_at"), due),
        ):
            if values:
                await conn.copy_records_to_table(
                    table, schema_name=s, columns=columns, records=values
                )


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None
