"""Questions the pages ask the case index. Every one is scoped to an agency (the signed-in
person's), and a practitioner's to the cases allocated to them there: the index never answers
across agencies. Answers are plain dicts of ids, codes and times.

    index = Index(pool, schema)
    await index.queue(agency, practitioner_id)          # due items of their caseload, soonest first
    # every list takes `limit` and `offset` (pages)
    await index.search(agency, practitioner_id=..., prefix=..., stage=..., harm_category=...,
                       has_due=...)                     # cases, latest activity first
    await index.caseload(agency, practitioner_id)       # case ids allocated to them
    await index.entries(agency, case_ids)               # the rows of given cases, by id
    await index.caseloads(agency)                       # {practitioner id: number of cases}
    await index.cases_of(agency, person_id)             # a participant's cases (ParticipantCases)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

LIMIT = 200


@dataclass(frozen=True)
class Search:
    """A case search's criteria (each optional)."""

    prefix: str = ""
    stage: str | None = None
    harm_category: str | None = None
    has_due: bool = False


class Index:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool, self.s = pool, schema

    async def queue(
        self, agency: str, practitioner_id: str, limit: int = LIMIT, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The due items of the practitioner's caseload, soonest first."""
        rows = await self.pool.fetch(
            f"SELECT d.case_id, d.kind, d.ref, d.due_at, c.stage, c.gates "
            f"FROM {self.s}.case_index_staff p "
            f"JOIN {self.s}.case_index_due d ON d.case_id = p.case_id "
            f"JOIN {self.s}.case_index c ON c.case_id = p.case_id "
            f"WHERE p.agency = $1 AND p.practitioner_id = $2 "
            f"ORDER BY d.due_at, d.case_id, d.kind, d.ref LIMIT $3 OFFSET $4",
            agency,
            practitioner_id,
            limit,
            offset,
        )
        return [dict(r) for r in rows]

    async def search(
        self,
        agency: str,
        criteria: Search = Search(),
        *,
        practitioner_id: str | None = None,
        limit: int = LIMIT,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Cases of `agency` (only those allocated to `practitioner_id` when given) that meet
        `criteria`, latest activity first."""
        mine = (
            f"AND EXISTS (SELECT 1 FROM {self.s}.case_index_staff p WHERE p.agency = $1 "
            f"AND p.practitioner_id = $6 AND p.case_id = c.case_id) "
            if practitioner_id is not None
            else "AND $6::text IS NULL "
        )
        rows = await self.pool.fetch(
            f"SELECT c.case_id, c.stage, c.harm_category, c.gates, c.next_due, c.last_activity "
            f"FROM {self.s}.case_index c WHERE c.agency = $1 AND c.opened "
            f"AND c.case_id LIKE $2 || '%' AND ($3::text IS NULL OR c.stage = $3) "
            f"AND ($4::text IS NULL OR c.harm_category = $4) "
            f"AND (NOT $5 OR c.next_due IS NOT NULL) {mine}"
            f"ORDER BY c.last_activity DESC NULLS LAST, c.case_id LIMIT $7 OFFSET $8",
            agency,
            _like_safe(criteria.prefix),
            criteria.stage,
            criteria.harm_category,
            criteria.has_due,
            practitioner_id,
            limit,
            offset,
        )
        return [dict(r) for r in rows]

    async def caseload(self, agency: str, practitioner_id: str) -> list[str]:
        """The cases allocated to the practitioner."""
        return await self._cases("case_index_staff", "practitioner_id", agency, practitioner_id)

    async def caseloads(self, agency: str) -> dict[str, int]:
        return await self._counts("practitioner_id", "case_index_staff", agency)

    async def _counts(self, key: str, table: str, agency: str) -> dict[str, int]:
        """Cases of `agency` counted by `key` (a column or expression of ours, never input)."""
        rows = await self.pool.fetch(
            f"SELECT {key}, count(*) FROM {self.s}.{table} WHERE agency = $1 GROUP BY 1 ORDER BY 1",
            agency,
        )
        return {r[0]: r[1] for r in rows}

    async def entries(self, agency: str, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The index's rows of `case_ids` in `agency` (the ones it has), by case id: one query
        for a list whose ids come from elsewhere (the hub's caseload)."""
        rows = await self.pool.fetch(
            f"SELECT case_id, stage, harm_category, gates, next_due, last_activity "
            f"FROM {self.s}.case_index WHERE agency = $1 AND case_id = ANY($2::text[])",
            agency,
            case_ids,
        )
        return {r["case_id"]: dict(r) for r in rows}

    async def cases_of(self, agency: str, person_id: str) -> list[str]:
        """The cases the participant takes part in (mend_web.participant_cases)."""
        return await self._cases("case_index_participants", "person_id", agency, person_id)

    async def _cases(self, table: str, column: str, agency: str, person: str) -> list[str]:
        rows = await self.pool.fetch(
            f"SELECT case_id FROM {self.s}.{table} WHERE agency = $1 AND {column} = $2 "
            f"ORDER BY case_id",
            agency,
            person,
        )
        return [r[0] for r in rows]


def _like_safe(prefix: str) -> str:
    """A prefix as LIKE takes it literally."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
