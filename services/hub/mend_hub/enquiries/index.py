"""The agency's enquiries, newest first: the streams under `enquiry:<agency>:` in the hub's own
event store, read at the moment of asking (no projection to lag behind a record just made)."""

from __future__ import annotations

import asyncpg
from mend_events.contracts.catalog.hub import enquiry_stream


class EnquiryIndex:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool, self.schema = pool, schema

    async def streams(self, agency: str, limit: int = 200) -> list[str]:
        prefix = enquiry_stream(agency, "")
        # `starts_with`, not LIKE: an agency id may hold `_`, which LIKE reads as a wildcard.
        rows = await self.pool.fetch(
            f"SELECT stream_id, min(global_position) AS first FROM {self.schema}.events "
            f"WHERE starts_with(stream_id, $1) GROUP BY stream_id ORDER BY first DESC LIMIT $2",
            prefix,
            limit,
        )
        return [r["stream_id"] for r in rows]
