"""The application layer: what a partner's practitioner reads of a case (and its ledger row),
and what an auditor reads of the ledger. No SQL beyond the read models' and the ledger's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
from mend_events.errors import Unavailable
from mend_events.security.identity import Identity
from mend_events.store.disclosure_ledger import Entry, EntryKind, Ledger

from mend_disclosure import access
from mend_disclosure.read_models import Candidates, GrantBook


class DisclosureService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool, self.schema, self.clock = pool, schema, clock
        self.grants, self.ledger = GrantBook(schema), Ledger(schema)
        self.candidates = Candidates(schema)
        # Whether the gateway's consent consumer lags (set once the gateway runs): while it
        # does, a withdrawal may be on its way, so partner reads wait as disclosures do.
        self.consent_lags: Callable[[], bool] = lambda: False

    async def shared(self, case_id: str, identity: Identity) -> dict[str, Any]:
        """The shared part of a case for the caller's agency, while a grant stands now; the
        read is a ledger row (who, which events, which field paths) in the same transaction."""
        now = self.clock()
        if self.consent_lags():
            raise Unavailable("the gateway is catching up with consent changes: try again shortly")
        async with self.pool.acquire() as conn, conn.transaction():
            grants = await self.grants.of_case(conn, case_id)
            current = [g for g in grants if g.terms is not None and g.in_force_at(now)
                       and g.terms.valid_from <= now < g.terms.valid_until]  # fmt: skip
            access.authorize_shared(identity, frozenset(g.agency for g in current))
            mine = {g.grant_id for g in current if g.agency == identity.agency}
            rows = await conn.fetch(
                f"SELECT * FROM {self.schema}.shared_copies WHERE case_id = $1 AND agency = $2 "
                f"AND grant_id = ANY($3::uuid[]) ORDER BY occurred_at, share_id",
                case_id, identity.agency, list(mine),
            )  # fmt: skip
            items = [
                {
                    "event_id": str(r["event_id"]),
                    "type": r["event_type"],
                    "occurred_at": r["occurred_at"].isoformat(),
                    "subject_id": r["subject_id"],
                    "grant_id": str(r["grant_id"]),
                    "data": r["data"],
                }
                for r in rows
            ]
            answer = {"case_id": case_id, "agency": identity.agency, "events": items}
            paths = sorted({k for item in items for k in item["data"]})
            await self.ledger.append(
                conn,
                Entry(
                    entry_id=uuid4(), kind=EntryKind.PARTNER_READ, recorded_at=now,
                    recipient_agency=identity.agency, recipient_principal=identity.person_id,
                    case_id=case_id, subjects=tuple(sorted({r["subject_id"] for r in rows})),
                    event_ids=tuple(r["event_id"] for r in rows), field_paths=tuple(paths),
                    digest=hashlib.sha256(json.dumps(answer, sort_keys=True).encode()).digest(),
                ),
            )  # fmt: skip
        return answer

    async def disclosures_about(self, person_id: str, identity: Identity) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            agencies = await conn.fetch(
                f"SELECT d.agency FROM {self.schema}.case_directory d WHERE "
                f"d.harmed_person_id = $1 UNION SELECT d.agency FROM "
                f"{self.schema}.case_members m JOIN {self.schema}.case_directory d "
                f"USING (case_id) WHERE m.person_id = $1",
                person_id,
            )
            access.authorize_disclosures(identity, frozenset(r[0] for r in agencies))
            entries = await self.ledger.about(conn, person_id)
        return {"person_id": person_id, "entries": entries}

    async def held(self) -> int:
        async with self.pool.acquire() as conn:
            return await self.candidates.waiting(conn)
