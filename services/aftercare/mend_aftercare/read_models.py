"""Aftercare's read models (tables in `migrations/0001_aftercare.sql`).

- `ConsentFacts` holds what aftercare needs to know of consent events: the progress_updates /
  outcome_research grants in force per case and participant. (Each case's agency, harmed
  person and members come from the shared case directory, mend_events.security.cases.) Its rows are
  written by the inbox consumers in the inbox transaction (reactions.py), so each event's
  effect applies exactly once.
- `ProgressOutbox` is a projection over aftercare's own events: a share request per commitment
  status change, a delivery per ProgressUpdateShared. Both are worked off after commit by the
  progress-update sender (delivery.py: `share_pending`, `deliver_pending`), with the reads and
  writes of this module.

The no-leak rule for progress updates rests on one row lock: `ConsentFacts.apply` locks the
participant's `consent_subjects` row before it changes their grants, and `ConsentFacts.in_force(
..., lock=True)` takes the same row FOR SHARE before reading them. A delivery checks consent that
way inside the transaction that marks it sent, so a withdrawal either committed first (and the
delivery is withheld) or waits until the delivery committed (and came after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from mend_events.contracts.catalog.aftercare import (
    CommitmentCompleted,
    CommitmentNotCompleted,
    CommitmentProgressed,
    CommitmentStatus,
    ProgressUpdateShared,
)
from mend_events.contracts.catalog.consent import (
    OUTCOME_RESEARCH,
    PROGRESS_UPDATES,
    TAKE_PART,
    ConsentGiven,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
)
from mend_events.contracts.envelope import RecordedEvent

# take_part: the harmed person's participation, which a community team conference needs.
TRACKED_SCOPES = frozenset({PROGRESS_UPDATES, OUTCOME_RESEARCH, TAKE_PART})
CONSENT_TYPES = frozenset(
    {"ConsentGiven", "ConsentWithdrawn", "ConsentLapsed", "ConsentInvalidated"}
)


class ConsentFacts:
    """Per case and participant: their role and their progress_updates / outcome_research /
    take_part grants in force. Other scopes are not aftercare's to know."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type not in CONSENT_TYPES:
            return
        fact = event.decode()
        role = str(fact.participant_role) if isinstance(fact, ConsentGiven) else None
        # Lock the participant's row first: a delivery checking their consent waits for us.
        await conn.execute(
            f"INSERT INTO {self.schema}.consent_subjects AS s (case_id, participant_id, "
            f"participant_role, last_event_id) VALUES ($1, $2, $3, $4) "
            f"ON CONFLICT (case_id, participant_id) DO UPDATE SET "
            f"participant_role = coalesce(EXCLUDED.participant_role, s.participant_role), "
            f"last_event_id = EXCLUDED.last_event_id, changed_at = now()",
            event.case_id,
            fact.participant_id,
            role,
            event.event_id,
        )
        if isinstance(fact, ConsentGiven):
            if fact.scope in TRACKED_SCOPES:
                await conn.execute(
                    f"INSERT INTO {self.schema}.consent_grants (case_id, grant_id, "
                    f"participant_id, scope, given_at, expires_at) "
                    f"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    event.case_id,
                    fact.grant_id,
                    fact.participant_id,
                    fact.scope,
                    event.metadata.occurred_at,
                    fact.expires_at,
                )
            return
        if isinstance(fact, ConsentLapsed):
            ended = [fact.grant_id]
        else:
            assert isinstance(fact, ConsentWithdrawn | ConsentInvalidated)
            ended = [g.grant_id for g in fact.grants]
        await conn.execute(
            f"DELETE FROM {self.schema}.consent_grants WHERE case_id = $1 "
            f"AND grant_id = ANY($2::uuid[])",
            event.case_id,
            ended,
        )

    async def role_of(
        self, conn: asyncpg.Connection, case_id: str, participant_id: str
    ) -> str | None:
        return await conn.fetchval(
            f"SELECT participant_role FROM {self.schema}.consent_subjects "
            f"WHERE case_id = $1 AND participant_id = $2",
            case_id,
            participant_id,
        )

    async def in_force(
        self,
        conn: asyncpg.Connection,
        case_id: str,
        participant_id: str,
        scope: str,
        at: datetime | None = None,
        *,
        lock: bool = False,
    ) -> bool:
        """Whether `participant_id` holds a grant of `scope` in force at `at` (None: the
        database's clock at the moment of reading). With `lock`, the participant's consent row
        is locked FOR SHARE until the caller's transaction ends: no consent change for them can
        commit in between (see the module docstring)."""
        if lock:
            await conn.execute(
                f"SELECT 1 FROM {self.schema}.consent_subjects WHERE case_id = $1 "
                f"AND participant_id = $2 FOR SHARE",
                case_id,
                participant_id,
            )
        return bool(
            await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {self.schema}.consent_grants WHERE case_id = $1 "
                f"AND participant_id = $2 AND scope = $3 "
                f"AND (expires_at IS NULL OR expires_at > coalesce($4, clock_timestamp())))",
                case_id,
                participant_id,
                scope,
                at,
            )
        )


_STATUS_OF = {
    "CommitmentProgressed": CommitmentStatus.PROGRESSED,
    "CommitmentCompleted": CommitmentStatus.COMPLETED,
    "CommitmentNotCompleted": CommitmentStatus.NOT_COMPLETED,
}


class ProgressOutbox:
    """A projection over aftercare's own events feeding the progress-update outbox: a share
    request per commitment status change, a delivery per ProgressUpdateShared.

    Its rows are a record of work done (what was decided, sent or withheld), not a view that can
    be rebuilt: `reset` deletes nothing, and a replay re-inserts nothing that exists (keys are
    event ids), so a rebuild never sends an update twice."""

    name = "progress_outbox"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        requests: list[tuple] = []
        deliveries: list[tuple] = []
        for e in events:
            if e.event_type in _STATUS_OF:
                change = e.decode()
                assert isinstance(
                    change, CommitmentProgressed | CommitmentCompleted | CommitmentNotCompleted
                )
                requests.append(
                    (
                        e.event_id,
                        e.global_position,
                        e.stream_id,
                        change.commitment_id,
                        str(_STATUS_OF[e.event_type]),
                        e.metadata.correlation_id,
                    )
                )
            elif e.event_type == "ProgressUpdateShared":
                shared = e.decode()
                assert isinstance(shared, ProgressUpdateShared)
                deliveries.append(
                    (
                        e.event_id,
                        e.stream_id,
                        shared.harmed_person_id,
                        shared.commitment_id,
                        str(shared.status),
                        shared.commitment_revision,
                        e.metadata.occurred_at,
                    )
                )
        if requests:
            await conn.executemany(
                f"INSERT INTO {self.schema}.share_requests (cause_event_id, global_position, "
                f"case_id, commitment_id, status, correlation_id) VALUES ($1,$2,$3,$4,$5,$6) "
                f"ON CONFLICT DO NOTHING",
                requests,
            )
        if deliveries:
            await conn.executemany(
                f"INSERT INTO {self.schema}.deliveries (delivery_id, case_id, harmed_person_id, "
                f"commitment_id, status, commitment_revision, shared_at) "
                f"VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
                deliveries,
            )

    async def reset(self, conn: asyncpg.Connection) -> None:
        """Nothing: an outbox is history (see the class docstring)."""

    # --- the outbox's work, as the sender (delivery.py) does it -----------------------------

    async def pending_requests(self, conn: asyncpg.Connection, limit: int) -> list[Any]:
        return await conn.fetch(
            f"SELECT cause_event_id, case_id, commitment_id, status, correlation_id "
            f"FROM {self.schema}.share_requests WHERE done_at IS NULL "
            f"ORDER BY global_position LIMIT $1",
            limit,
        )

    async def request_done(self, conn: asyncpg.Connection, cause_event_id: UUID) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.share_requests SET done_at = now() WHERE cause_event_id = $1",
            cause_event_id,
        )

    async def next_due(self, conn: asyncpg.Connection, shared_before: datetime) -> Any:
        """The oldest pending delivery shared before `shared_before`, locked for this
        transaction (others skip it)."""
        return await conn.fetchrow(
            f"SELECT delivery_id, case_id, harmed_person_id, commitment_id, status, "
            f"commitment_revision FROM {self.schema}.deliveries "
            f"WHERE state = 'pending' AND shared_at <= $1 "
            f"ORDER BY shared_at, delivery_id LIMIT 1 FOR UPDATE SKIP LOCKED",
            shared_before,
        )

    async def decided(
        self, conn: asyncpg.Connection, delivery_id: UUID, reason: str | None
    ) -> None:
        """Mark a delivery `sent` (no reason) or `withheld` (with the reason)."""
        await conn.execute(
            f"UPDATE {self.schema}.deliveries SET state = $2, withheld_because = $3, "
            f"decided_at = clock_timestamp() WHERE delivery_id = $1",
            delivery_id,
            "withheld" if reason else "sent",
            reason,
        )

    async def sent_to(
        self, conn: asyncpg.Connection, case_id: str, harmed_person_id: str
    ) -> list[Any]:
        return await conn.fetch(
            f"SELECT delivery_id, commitment_id, status, decided_at "
            f"FROM {self.schema}.deliveries WHERE case_id = $1 AND harmed_person_id = $2 "
            f"AND state = 'sent' ORDER BY decided_at, delivery_id",
            case_id,
            harmed_person_id,
        )

    async def of_case(self, conn: asyncpg.Connection, case_id: str) -> list[Any]:
        return await conn.fetch(
            f"SELECT delivery_id, commitment_id, status, commitment_revision, shared_at, "
            f"state, withheld_because, decided_at FROM {self.schema}.deliveries "
            f"WHERE case_id = $1 ORDER BY shared_at, delivery_id",
            case_id,
        )
