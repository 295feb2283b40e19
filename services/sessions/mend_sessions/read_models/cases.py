"""`CaseStates`: a projection of this service's own events (the registry's is the shared
`mend_events.security.practitioners.PractitionerDirectory`), run by the projection runner: rows and
tracking position in one transaction, rebuilt from the store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import asyncpg
from mend_events.contracts.envelope import RecordedEvent
from mend_events.security.practitioners import is_registry_stream
from mend_events.store import row_to_event
from mend_events.store.projection import OwnTables

from mend_sessions.domain import decider
from mend_sessions.domain.document import case_document


class CaseStates(OwnTables):
    """Each case's state for the API: the domain's own fold of the case stream (so the API
    never disagrees with a decision), plus each halt's cause, as one JSON document."""

    name = "case_states"
    tables = ("case_states",)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        cases = [e for e in events if not is_registry_stream(e.stream_id)]
        heads = {
            stream: max(e.stream_version for e in group)
            for stream, group in groupby(
                sorted(cases, key=lambda e: e.stream_id), key=lambda e: e.stream_id
            )
        }
        rows = []
        for stream, version in heads.items():
            history = await conn.fetch(
                f"SELECT global_position, stream_id, stream_version, event_id, event_type, "
                f"schema_version, case_id, data, metadata, recorded_at, hash "
                f"FROM {self.schema}.events WHERE stream_id = $1 AND stream_version <= $2 "
                f"ORDER BY stream_version",
                stream,
                version,
            )
            recorded = [row_to_event(r) for r in history]
            state = decider.fold(stream, ((e.decode(), e.metadata) for e in recorded))
            rows.append((stream, version, json.dumps(case_document(state, recorded))))
        if rows:
            await conn.executemany(
                f"INSERT INTO {self.schema}.case_states (case_id, version, state) "
                f"VALUES ($1, $2, $3) ON CONFLICT (case_id) DO UPDATE SET "
                f"version = EXCLUDED.version, state = EXCLUDED.state, updated_at = now() "
                f"WHERE {self.schema}.case_states.version < EXCLUDED.version",
                rows,
            )

    async def get(self, conn: asyncpg.Connection, case_id: str) -> dict[str, Any] | None:
        raw = await conn.fetchval(
            f"SELECT state FROM {self.schema}.case_states WHERE case_id = $1", case_id
        )
        return json.loads(raw) if raw is not None else None
