"""The circles service's read models and facts (every statement of the service is here).

- `CircleConsent`: circle grants and acknowledgements from the consent service's events,
  written in the inbox transaction. A grant's row lock serialises a join with the end of the
  grant it joins under: a join reads its grant `FOR SHARE` and holds it until its append has
  committed; the consumer updates the row (waiting for that join) before it decides the halt,
  so either the join sees the grant ended and is refused, or the halt sees the member in.
- `CircleIndex`: a projection over circles' own events: the circles of each agency and who is
  in which (for lists, and for halting a responsible person's participation everywhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from mend_events.contracts.catalog import circles as ev
from mend_events.contracts.catalog.consent import (
    AcknowledgementRecorded,
    AcknowledgementWithdrawn,
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
    GrantRef,
    ScopeKind,
    parse_scope,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.store.projection import OwnTables

CONSENT_TYPES = frozenset(
    {
        "ConsentGiven",
        "ConsentWithdrawn",
        "ConsentLapsed",
        "ConsentInvalidated",
        "AcknowledgementRecorded",
        "AcknowledgementWithdrawn",
    }
)


def circle_of(scope: str | None) -> str | None:
    """The circle a scope key is about, or None (not a circle scope)."""
    if scope is None:
        return None
    try:
        parts = parse_scope(scope)
    except ValueError:
        return None
    return parts.circle if parts.kind is ScopeKind.CIRCLE else None


class CircleConsent:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> list[GrantRef]:
        """Take in one consent event; returns the circle grants it ended now (to halt)."""
        model = event.decode()
        if isinstance(model, ConsentGiven):
            circle = circle_of(model.scope)
            if circle is not None:
                await conn.execute(
                    f"INSERT INTO {self.schema}.circle_grants (grant_id, case_id, participant_id, "
                    f"circle_id, given_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6) "
                    f"ON CONFLICT DO NOTHING",
                    model.grant_id, event.case_id, model.participant_id, circle,
                    event.metadata.occurred_at, model.expires_at,
                )  # fmt: skip
            return []
        if isinstance(model, ConsentWithdrawn | ConsentInvalidated):
            refs = [g for g in model.grants if circle_of(g.scope) is not None]
        elif isinstance(model, ConsentLapsed):
            refs = [GrantRef(grant_id=model.grant_id, scope=model.scope)]
            refs = [g for g in refs if circle_of(g.scope) is not None]
        elif isinstance(model, AcknowledgementRecorded | AcknowledgementWithdrawn):
            await conn.execute(
                f"INSERT INTO {self.schema}.acknowledgements (case_id, responsible_person_id, "
                f"standing, last_event_id) VALUES ($1,$2,$3,$4) ON CONFLICT (case_id, "
                f"responsible_person_id) DO UPDATE SET standing = EXCLUDED.standing, "
                f"last_event_id = EXCLUDED.last_event_id",
                event.case_id, model.responsible_person_id,
                isinstance(model, AcknowledgementRecorded), event.event_id,
            )  # fmt: skip
            return []
        else:
            return []
        if not refs:
            return []
        # Ends each grant not ended before (a redelivery ends nothing twice); the UPDATE takes
        # the row lock a join holds FOR SHARE, so it waits for a join in flight to commit.
        ended = await conn.fetch(
            f"UPDATE {self.schema}.circle_grants SET ended_by = $2 "
            f"WHERE grant_id = ANY($1::uuid[]) AND (ended_by IS NULL OR ended_by = $2) "
            f"RETURNING grant_id",
            [g.grant_id for g in refs], event.event_id,
        )  # fmt: skip
        still = {r["grant_id"] for r in ended}
        return [g for g in refs if g.grant_id in still]

    async def grant_in_force(
        self,
        conn: asyncpg.Connection,
        circle_id: str,
        case_id: str,
        person_id: str,
        now: datetime,
    ) -> UUID | None:
        """The person's circle grant in force, locked FOR SHARE until the caller's transaction
        ends (see the module's note)."""
        return await conn.fetchval(
            f"SELECT grant_id FROM {self.schema}.circle_grants WHERE circle_id = $1 "
            f"AND case_id = $2 AND participant_id = $3 AND ended_by IS NULL "
            f"AND (expires_at IS NULL OR expires_at > $4) ORDER BY given_at DESC LIMIT 1 "
            f"FOR SHARE",
            circle_id, case_id, person_id, now,
        )  # fmt: skip

    async def acknowledged(self, conn: asyncpg.Connection, case_id: str, person_id: str) -> bool:
        found = await conn.fetchval(
            f"SELECT standing FROM {self.schema}.acknowledgements "
            f"WHERE case_id = $1 AND responsible_person_id = $2 FOR SHARE",
            case_id,
            person_id,
        )
        return bool(found)


class CircleIndex(OwnTables):
    """Circles and their members' standing, from circles' own events."""

    name = "circle_index"
    tables = ("circles", "circle_members")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        for e in events:
            model = e.decode()
            if isinstance(model, ev.CircleFormed):
                await conn.execute(
                    f"INSERT INTO {self.schema}.circles (circle_id, agency, kind, facilitator_id, "
                    f"formed_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
                    e.stream_id, model.agency, str(model.kind), model.facilitator_id,
                    e.metadata.occurred_at,
                )  # fmt: skip
            elif isinstance(model, ev.MemberInvited):
                await conn.execute(
                    f"INSERT INTO {self.schema}.circle_members (circle_id, person_id, case_id, "
                    f"seat, standing) VALUES ($1,$2,$3,$4,'invited') ON CONFLICT (circle_id, "
                    f"person_id) DO UPDATE SET standing = 'invited'",
                    e.stream_id, model.person_id, model.case_id, model.seat,
                )  # fmt: skip
            elif isinstance(model, ev.MemberJoined | ev.MemberLeft | ev.MemberParticipationHalted):
                standing = _STANDING[type(model)]
                await conn.execute(
                    f"UPDATE {self.schema}.circle_members SET standing = $3 "
                    f"WHERE circle_id = $1 AND person_id = $2",
                    e.stream_id, model.person_id, standing,
                )  # fmt: skip
            elif isinstance(model, ev.CircleClosed):
                await conn.execute(
                    f"UPDATE {self.schema}.circles SET closed = true WHERE circle_id = $1",
                    e.stream_id,
                )

    async def circles_of_agency(self, conn: asyncpg.Connection, agency: str) -> list[dict]:
        rows = await conn.fetch(
            f"SELECT circle_id, kind, facilitator_id, closed FROM {self.schema}.circles "
            f"WHERE agency = $1 ORDER BY formed_at, circle_id",
            agency,
        )
        return [dict(r) for r in rows]

    async def circles_of_person(self, conn: asyncpg.Connection, person_id: str) -> list[str]:
        rows = await conn.fetch(
            f"SELECT m.circle_id FROM {self.schema}.circle_members m JOIN {self.schema}.circles c "
            f"USING (circle_id) WHERE m.person_id = $1 AND m.standing IN ('invited', 'active') "
            f"ORDER BY c.formed_at, m.circle_id",
            person_id,
        )
        return [r["circle_id"] for r in rows]

    async def active_in(self, conn: asyncpg.Connection, person_id: str, case_id: str) -> list[str]:
        rows = await conn.fetch(
            f"SELECT circle_id FROM {self.schema}.circle_members WHERE person_id = $1 "
            f"AND case_id = $2 AND standing = 'active' ORDER BY circle_id",
            person_id,
            case_id,
        )
        return [r["circle_id"] for r in rows]


_STANDING: dict[type, Any] = {
    ev.MemberJoined: "active",
    ev.MemberLeft: "left",
    ev.MemberParticipationHalted: "halted",
}
