"""The consent service's read model: the grants in force, by status, per case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

import asyncpg
from mend_events.contracts.catalog.consent import (
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store.projection import OwnTables

_ENDING = {"ConsentWithdrawn", "ConsentLapsed", "ConsentInvalidated"}


class CurrentGrants(OwnTables):
    """One row per grant given and not yet withdrawn, lapsed or invalidated."""

    name = "current_grants"
    tables = ("current_grants",)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        # Inserts and deletes in event order, consecutive ones of a kind in one round trip.
        ops: list[tuple[str, tuple]] = []
        for e in events:
            if e.event_type == "ConsentGiven":
                g = e.decode()
                assert isinstance(g, ConsentGiven)
                ops.append(
                    (
                        "insert",
                        (
                            e.case_id,
                            g.grant_id,
                            g.participant_id,
                            str(g.participant_role),
                            g.scope,
                            e.metadata.occurred_at,
                            g.expires_at,
                            None
                            if g.share_terms is None
                            else g.share_terms.model_dump(mode="json"),
                        ),
                    )
                )
            elif e.event_type in _ENDING:
                ending = e.decode()
                if isinstance(ending, ConsentLapsed):
                    ids = [ending.grant_id]
                else:
                    assert isinstance(ending, ConsentWithdrawn | ConsentInvalidated)
                    ids = [g.grant_id for g in ending.grants]
                ops.extend(("delete", (e.case_id, gid)) for gid in ids)
        for kind, group in groupby(ops, key=lambda op: op[0]):
            rows = [row for _, row in group]
            if kind == "insert":
                await self._insert(conn, rows)
            else:
                await conn.executemany(
                    f"DELETE FROM {self.schema}.current_grants WHERE case_id = $1 "
                    f"AND grant_id = $2",
                    rows,
                )

    async def _insert(self, conn: asyncpg.Connection, rows: list[tuple]) -> None:
        await conn.executemany(
            f"INSERT INTO {self.schema}.current_grants (case_id, grant_id, participant_id, "
            f"participant_role, scope, given_at, expires_at, share_terms) "
            f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb) "
            f"ON CONFLICT DO NOTHING",
            rows,
        )

    async def rows(
        self, conn: asyncpg.Connection, case_id: str, participant_id: str | None = None
    ) -> list[asyncpg.Record]:
        return await conn.fetch(
            f"SELECT grant_id, participant_id, participant_role, scope, given_at, expires_at, "
            f"share_terms "
            f"FROM {self.schema}.current_grants WHERE case_id = $1 "
            f"AND ($2::text IS NULL OR participant_id = $2) "
            f"ORDER BY participant_id, scope, grant_id",
            case_id,
            participant_id,
        )

    async def cases_with_expired(self, conn: asyncpg.Connection, now: datetime) -> list[str]:
        rows = await conn.fetch(
            f"SELECT DISTINCT case_id FROM {self.schema}.current_grants "
            f"WHERE expires_at IS NOT NULL AND expires_at <= $1",
            now,
        )
        return [r["case_id"] for r in rows]
