"""The gateway's own tables: share grants (a projection of the consent topic), the partners'
sharing keys (of the hub topic), the consumer's positions, and the held candidates. Every
write here runs in the inbox transaction of the message it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.transaction import TransactionState
from mend_events.contracts.catalog.consent import (
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
    ShareTerms,
    parse_scope,
)
from mend_events.contracts.catalog.hub import AgencySharingKeySet
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.inbox import Position

from mend_disclosure.domain import GrantEnd, ShareGrant

_ENDS = {
    "ConsentWithdrawn": GrantEnd.WITHDRAWN,
    "ConsentInvalidated": GrantEnd.INVALIDATED,
    "ConsentLapsed": GrantEnd.LAPSED,
}


class GrantBook:
    """The share grants of every case, with their ends."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def given(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        g = event.decode()
        assert isinstance(g, ConsentGiven)
        agency = parse_scope(g.scope).agency
        if agency is None:
            return  # not a share grant
        terms = None if g.share_terms is None else g.share_terms.model_dump(mode="json")
        await conn.execute(
            f"INSERT INTO {self.schema}.share_grants (grant_id, grant_version, case_id, "
            f"participant_id, agency, terms, given_at) VALUES ($1,$2,$3,$4,$5,$6::jsonb,$7) "
            f"ON CONFLICT DO NOTHING",
            g.grant_id, event.stream_version, event.case_id, g.participant_id, agency, terms,
            event.metadata.occurred_at,
        )  # fmt: skip

    async def ended(self, conn: asyncpg.Connection, event: RecordedEvent) -> list[ShareGrant]:
        """End the share grants the event ends (at its moment; a lapse at the expiry itself);
        returns those it ended now (an end seen before ends nothing twice)."""
        e = event.decode()
        if isinstance(e, ConsentLapsed):
            ids, at = [e.grant_id], e.expired_at
        else:
            assert isinstance(e, ConsentWithdrawn | ConsentInvalidated)
            ids, at = [ref.grant_id for ref in e.grants], event.metadata.occurred_at
        rows = await conn.fetch(
            f"UPDATE {self.schema}.share_grants SET ended_at = $2, ended_by = $3, "
            f"end_event_id = $4 WHERE grant_id = ANY($1::uuid[]) AND ended_at IS NULL "
            f"RETURNING *",
            ids, at, str(_ENDS[event.event_type]), event.event_id,
        )  # fmt: skip
        return [grant_of(r) for r in rows]

    async def erased(
        self, conn: asyncpg.Connection, person_id: str, at: datetime, event_id: UUID
    ) -> list[ShareGrant]:
        rows = await conn.fetch(
            f"UPDATE {self.schema}.share_grants SET ended_at = $2, ended_by = 'erased', "
            f"end_event_id = $3 WHERE participant_id = $1 AND ended_at IS NULL RETURNING *",
            person_id, at, event_id,
        )  # fmt: skip
        return [grant_of(r) for r in rows]

    async def of_cases(
        self, conn: asyncpg.Connection, case_ids: list[str]
    ) -> dict[str, list[ShareGrant]]:
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.share_grants WHERE case_id = ANY($1::text[])", case_ids
        )
        out: dict[str, list[ShareGrant]] = {}
        for r in rows:
            out.setdefault(r["case_id"], []).append(grant_of(r))
        return out

    async def of_case(self, conn: asyncpg.Connection, case_id: str) -> list[ShareGrant]:
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.share_grants WHERE case_id = $1", case_id
        )
        return [grant_of(r) for r in rows]


def grant_of(r: asyncpg.Record) -> ShareGrant:
    terms = r["terms"]
    return ShareGrant(
        grant_id=r["grant_id"],
        grant_version=r["grant_version"],
        case_id=r["case_id"],
        participant_id=r["participant_id"],
        agency=r["agency"],
        terms=None if terms is None else ShareTerms.model_validate(terms),
        given_at=r["given_at"],
        ended_at=r["ended_at"],
        ended_by=None if r["ended_by"] is None else GrantEnd(r["ended_by"]),
    )


class PartnerKeys:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        k = event.decode()
        assert isinstance(k, AgencySharingKeySet)
        await conn.execute(
            f"INSERT INTO {self.schema}.partner_keys (agency, kid, public_key, set_at) "
            f"VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
            k.agency_id, k.kid, k.public_key, event.metadata.occurred_at,
        )  # fmt: skip

    async def current(self, conn: asyncpg.Connection) -> dict[str, tuple[str, str]]:
        """Per agency, its latest key: (kid, public key)."""
        rows = await conn.fetch(
            f"SELECT DISTINCT ON (agency) agency, kid, public_key FROM {self.schema}.partner_keys "
            f"ORDER BY agency, set_at DESC, kid DESC"
        )
        return {r["agency"]: (r["kid"], r["public_key"]) for r in rows}


class Positions:
    """The next offset to apply on each partition the consumers read (the inbox's position
    hook: in the same transaction as what was applied)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def record(self, conn: asyncpg.Connection, position: Position) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.consumed_positions (topic, partition, next_offset) "
            f"VALUES ($1,$2,$3) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = "
            f"GREATEST({self.schema}.consumed_positions.next_offset, EXCLUDED.next_offset)",
            position.topic, position.partition, position.offset + 1,
        )  # fmt: skip

    async def of_topic(self, conn: asyncpg.Connection, topic: str) -> dict[int, int]:
        rows = await conn.fetch(
            f"SELECT partition, next_offset FROM {self.schema}.consumed_positions WHERE topic = $1",
            topic,
        )
        return {r[0]: r[1] for r in rows}


class Candidates:
    """Events a partner may receive, held until their barrier is passed.

    `hold` runs once per message in the inbox transaction; its rows are kept with that
    transaction and written in one statement by `flush`, which the consumer's position hook
    calls in the same transaction after the batch's handlers (app.py): a row is written exactly
    when its inbox row and position commit. Rows of a transaction that failed are dropped."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._pending: dict[int, tuple[Any, list[tuple[Any, ...]]]] = {}

    _INSERT = (
        "INSERT INTO {schema}.candidates (event_id, event_type, source, case_id, occurred_at, "
        "data) VALUES ($1,$2,$3,$4,$5,$6::jsonb) ON CONFLICT DO NOTHING"
    )

    async def hold(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        row = (event.event_id, event.event_type, event.service, event.case_id,
               event.metadata.occurred_at, event.decode().to_data())  # fmt: skip
        xact = getattr(conn, "_top_xact", None)
        if xact is None:  # not in a transaction we can follow: write it now
            await conn.execute(self._INSERT.format(schema=self.schema), *row)
            return
        for key, (other, _) in list(self._pending.items()):
            if other is not xact and other._state is not TransactionState.STARTED:
                del self._pending[key]  # a transaction that failed: its rows were never written
        self._pending.setdefault(id(xact), (xact, []))[1].append(row)

    async def flush(self, conn: asyncpg.Connection) -> None:
        xact = getattr(conn, "_top_xact", None)
        held = self._pending.get(id(xact)) if xact is not None else None
        if held is None or held[0] is not xact:
            return
        del self._pending[id(xact)]
        await conn.executemany(self._INSERT.format(schema=self.schema), held[1])

    async def due(self, conn: asyncpg.Connection, before: datetime, limit: int) -> list[Any]:
        return await conn.fetch(
            f"SELECT * FROM {self.schema}.candidates WHERE occurred_at <= $1 "
            f"ORDER BY occurred_at, event_id LIMIT $2",
            before,
            limit,
        )

    async def set_barrier(
        self, conn: asyncpg.Connection, ids: Iterable[UUID], barrier: dict[int, int]
    ) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.candidates SET barrier = $2::jsonb "
            f"WHERE event_id = ANY($1::uuid[]) AND barrier IS NULL",
            list(ids),
            {str(p): o for p, o in barrier.items()},
        )

    async def done(self, conn: asyncpg.Connection, event_id: UUID) -> None:
        await conn.execute(f"DELETE FROM {self.schema}.candidates WHERE event_id = $1", event_id)

    async def waiting(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval(f"SELECT count(*) FROM {self.schema}.candidates")
