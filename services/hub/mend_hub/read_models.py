"""The hub's read models: the staff of every agency and the allocations in force, projected from
the hub's own events (`HubDirectory`, registered with `runtime.project`). A case's allocation
history is read from its own stream (service.py); these tables answer the lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from mend_events.app.db import fetch_dicts
from mend_events.contracts.catalog.hub import (
    CaseAllocated,
    CaseDeallocated,
    StaffDeactivated,
    StaffEnrolled,
    StaffQualificationsRecorded,
    StaffReactivated,
    VolunteerAllocated,
    VolunteerDeallocated,
)
from mend_events.contracts.envelope import RecordedEvent

_TYPES = frozenset(
    {
        "StaffEnrolled",
        "StaffQualificationsRecorded",
        "StaffDeactivated",
        "StaffReactivated",
        "CaseAllocated",
        "CaseDeallocated",
        "VolunteerAllocated",
        "VolunteerDeallocated",
    }
)


class HubDirectory:
    """`staff` and `allocations` of one hub schema (migrations/0001_hub.sql)."""

    name = "hub_directory"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        for e in events:
            if e.event_type in _TYPES:
                await self._apply(conn, e)

    async def _apply(self, conn: asyncpg.Connection, e: RecordedEvent) -> None:
        s, at, fact = self.schema, e.metadata.occurred_at, e.decode()
        if isinstance(fact, StaffEnrolled):
            await conn.execute(
                f"INSERT INTO {s}.staff (person_id, agency_id, role, active, enrolled_at, "
                f"changed_at) VALUES ($1, $2, $3, true, $4, $4) ON CONFLICT (person_id) DO NOTHING",
                fact.person_id,
                fact.agency_id,
                str(fact.role),
                at,
            )
        elif isinstance(fact, StaffQualificationsRecorded):
            await conn.execute(
                f"UPDATE {s}.staff SET rj_trained = $2, sexual_harm_trained = $3, level = $4, "
                f"specialisms = $5, changed_at = $6 WHERE person_id = $1",
                fact.person_id,
                fact.rj_trained,
                fact.sexual_harm_trained,
                fact.level,
                [str(x) for x in fact.specialisms],
                at,
            )
        elif isinstance(fact, StaffDeactivated | StaffReactivated):
            await conn.execute(
                f"UPDATE {s}.staff SET active = $2, changed_at = $3 WHERE person_id = $1",
                fact.person_id,
                isinstance(fact, StaffReactivated),
                at,
            )
        elif isinstance(fact, CaseAllocated):
            await conn.execute(
                f"INSERT INTO {s}.allocations (case_id, practitioner_id, agency_id, "
                f"allocated_at, allocated_by, reason) VALUES ($1, $2, $3, $4, $5, $6) "
                f"ON CONFLICT (case_id, practitioner_id) DO NOTHING",
                fact.case_id,
                fact.practitioner_id,
                fact.agency_id,
                at,
                e.metadata.actor_id,
                str(fact.reason),
            )
        elif isinstance(fact, CaseDeallocated):
            await conn.execute(
                f"DELETE FROM {s}.allocations WHERE case_id = $1 AND practitioner_id = $2",
                fact.case_id,
                fact.practitioner_id,
            )
        elif isinstance(fact, VolunteerAllocated):
            # A renewal allocates again: the row says the latest.
            await conn.execute(
                f"INSERT INTO {s}.allocations (case_id, practitioner_id, agency_id, "
                f"allocated_at, allocated_by, reason, part) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                f"ON CONFLICT (case_id, practitioner_id) DO UPDATE SET part = EXCLUDED.part",
                fact.case_id,
                fact.volunteer_id,
                fact.agency_id,
                at,
                e.metadata.actor_id,
                str(fact.reason),
                str(fact.part),
            )
        elif isinstance(fact, VolunteerDeallocated):
            await conn.execute(
                f"DELETE FROM {s}.allocations WHERE case_id = $1 AND practitioner_id = $2",
                fact.case_id,
                fact.volunteer_id,
            )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"DELETE FROM {self.schema}.staff")
        await conn.execute(f"DELETE FROM {self.schema}.allocations")

    # --- reads ------------------------------------------------------------------------------

    async def staff_of(self, conn: asyncpg.Connection, agency_id: str) -> list[dict[str, Any]]:
        return await fetch_dicts(
            conn,
            f"SELECT person_id, role, active, rj_trained, sexual_harm_trained, level, "
            f"specialisms, enrolled_at, changed_at FROM {self.schema}.staff "
            f"WHERE agency_id = $1 ORDER BY role, person_id",
            agency_id,
        )

    async def caseload(self, conn: asyncpg.Connection, practitioner_id: str) -> list[dict]:
        return await fetch_dicts(
            conn,
            f"SELECT case_id, agency_id, allocated_at, allocated_by, reason, part "
            f"FROM {self.schema}.allocations WHERE practitioner_id = $1 "
            f"ORDER BY allocated_at, case_id",
            practitioner_id,
        )
