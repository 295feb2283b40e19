"""What links a practitioner to a person: the person's own cases (the case directory, from the
sessions service's `CaseOpened` and `ParticipantEnrolled`), of the person's agency, that the
hub has allocated to the practitioner (its own `CaseAllocated` / `CaseDeallocated`, never a list
of cases in a token)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

# The cases among `case_ids` allocated to the practitioner now: (conn, case ids, practitioner,
# agency) -> those cases. The hub's allocations answer it (mend_hub.people.part).
AllocatedAmong = Callable[[asyncpg.Connection, Sequence[str], str, str], Awaitable[Sequence[str]]]


class Relations:
    def __init__(self, pool: asyncpg.Pool, schema: str, allocated_among: AllocatedAmong) -> None:
        self.pool = pool
        self.schema = schema
        self.allocated_among = allocated_among

    async def cases_of(self, conn: asyncpg.Connection, person_id: str, agency: str) -> list[str]:
        """The cases of `agency` the person takes part in, in any role."""
        rows = await conn.fetch(
            f"SELECT m.case_id FROM {self.schema}.case_members m "
            f"JOIN {self.schema}.case_directory d ON d.case_id = m.case_id "
            f"WHERE m.person_id = $1 AND d.agency = $2 ORDER BY m.case_id",
            person_id,
            agency,
        )
        return [r["case_id"] for r in rows]

    async def via_cases(self, practitioner_id: str, person_id: str, agency: str) -> tuple[str, ...]:
        """The person's cases allocated to the practitioner (empty: no link, no read)."""
        async with self.pool.acquire() as conn:
            cases = await self.cases_of(conn, person_id, agency)
            if not cases:
                return ()
            found = await self.allocated_among(conn, cases, practitioner_id, agency)
        return tuple(sorted(found))
