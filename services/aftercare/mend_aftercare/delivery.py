"""The progress-update sender: works off the outbox (read_models.ProgressOutbox) after commit.

Progress updates reach the harmed person in three steps, each after the previous commit:
1. a commitment status change (an aftercare event) becomes a share request (`ProgressOutbox`);
2. `share_pending` decides `ShareProgressUpdate` with `updates_consented_at_now` read from the
   consent read model; the domain stays silent unless consent, preference and state allow it;
3. `deliver_pending` releases each ProgressUpdateShared, one delivery per transaction: it locks
   the delivery row, locks the harmed person's consent row FOR SHARE and checks the
   progress_updates grant again (and the preference and closure), then marks the delivery `sent`
   or `withheld` in that same transaction. A withdrawal applied by the consent consumer takes
   the same row lock (read_models.py), so it either commits before the check (withheld) or
   waits until the delivery committed (which then came first). Only `sent` deliveries are ever
   shown to the harmed person, and `on_delivered` (the channel) runs only after that commit.
   A delivery also waits `delivery_hold` seconds after its decision, so a withdrawal recorded in
   the consent service just before it has time to arrive over the broker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from mend_events.commands.decider import system_context
from mend_events.commands.service import CommandService
from mend_events.contracts.catalog.aftercare import CommitmentStatus
from mend_events.contracts.catalog.consent import PROGRESS_UPDATES
from mend_events.errors import MendError
from mend_events.messaging.consumer_errors import describe_error

from mend_aftercare import commands as c
from mend_aftercare.domain import LEVEL_SHARES
from mend_aftercare.domain.state import AftercareState
from mend_aftercare.read_models import ConsentFacts, ProgressOutbox

log = structlog.get_logger("mend.aftercare")

SERVICE = "aftercare"
UNKNOWN_AGENCY = "unknown-agency"


class Withheld:
    """Why a delivery was withheld (recorded on the delivery; shown to auditors only)."""

    NO_CONSENT = "consent_not_in_force"
    PREFERENCE = "preference"
    CLOSED = "aftercare_closed"
    RECIPIENT = "not_the_harmed_person"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A progress update released to the harmed person: ids and codes only."""

    delivery_id: UUID
    case_id: str
    harmed_person_id: str
    commitment_id: UUID
    status: str
    commitment_revision: int


OnDelivered = Callable[[Delivery], Awaitable[None]]


async def log_delivery(delivery: Delivery) -> None:
    """The default channel: a log line with ids only. A real channel (e.g. a message through
    the harmed person's practitioner) replaces it."""
    log.info(
        "aftercare.progress_update_delivered",
        delivery_id=str(delivery.delivery_id),
        case_id=delivery.case_id,
    )


@dataclass
class UpdateSender:
    """Works off the outbox: `share_pending`, then `deliver_pending` (see the module's doc)."""

    pool: asyncpg.Pool
    commands: CommandService[AftercareState]
    outbox: ProgressOutbox
    consent: ConsentFacts
    case_agency: Callable[[str], Awaitable[str | None]]
    delivery_hold: timedelta = timedelta(0)
    on_delivered: OnDelivered = log_delivery

    async def process_updates(self) -> tuple[int, int]:
        """Decide pending share requests, then deliver what is due: (shared, delivered)."""
        return await self.share_pending(), await self.deliver_pending()

    async def share_pending(self, limit: int = 200) -> int:
        async with self.pool.acquire() as conn:
            rows = await self.outbox.pending_requests(conn, limit)
        shared = 0
        for row in rows:
            try:
                shared += await self._share(row)
            except MendError as exc:  # a refusal is final: retrying would refuse again
                log.warning(
                    "aftercare.share_refused",
                    case_id=row["case_id"],
                    cause_event_id=str(row["cause_event_id"]),
                    error=describe_error(exc),
                )
            except Exception as exc:  # left pending: the next pass tries again
                log.warning("aftercare.share_failed", error=describe_error(exc))
                continue
            async with self.pool.acquire() as conn:
                await self.outbox.request_done(conn, row["cause_event_id"])
        return shared

    async def _share(self, row: Any) -> int:
        case_id = row["case_id"]
        state, _ = await self.commands.load(case_id)
        person = state.harmed_person_id
        consent = person is not None and await self._consent_now(case_id, person)
        ctx = system_context(
            SERVICE,
            await self.case_agency(case_id) or UNKNOWN_AGENCY,
            now=datetime.now(UTC),
            correlation_id=row["correlation_id"],
            causation_id=row["cause_event_id"],
        )
        command = c.ShareProgressUpdate(
            commitment_id=row["commitment_id"],
            status=CommitmentStatus(row["status"]),
            updates_consented_at_now=consent,
        )
        result = await self.commands.execute(case_id, command, ctx)
        return len(result.events)

    async def _consent_now(self, case_id: str, person: str) -> bool:
        async with self.pool.acquire() as conn:
            return await self.consent.in_force(
                conn, case_id, person, PROGRESS_UPDATES, datetime.now(UTC)
            )

    async def deliver_pending(self) -> int:
        delivered = 0
        while True:
            outcome = await self._deliver_one()
            if outcome is None:
                return delivered
            if isinstance(outcome, Delivery):
                delivered += 1
                try:
                    await self.on_delivered(outcome)
                except Exception as exc:  # the release stands; the channel logs its own fault
                    log.warning("aftercare.channel_failed", error=describe_error(exc))

    async def _deliver_one(self) -> Delivery | str | None:
        """Decide one due delivery in one transaction: the Delivery if sent, the reason if
        withheld, None if nothing is due."""
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self.outbox.next_due(conn, now - self.delivery_hold)
            if row is None:
                return None
            reason = await self._withheld_because(conn, row)
            await self.outbox.decided(conn, row["delivery_id"], reason)
        if reason:
            return reason
        return Delivery(
            row["delivery_id"],
            row["case_id"],
            row["harmed_person_id"],
            row["commitment_id"],
            row["status"],
            row["commitment_revision"],
        )

    async def _withheld_because(self, conn: Any, row: Any) -> str | None:
        case_id, person = row["case_id"], row["harmed_person_id"]
        # First, and under the lock: consent to receive updates, as aftercare knows it now.
        if not await self.consent.in_force(conn, case_id, person, PROGRESS_UPDATES, lock=True):
            return Withheld.NO_CONSENT
        state, _ = await self.commands.load(case_id)
        if state.harmed_person_id != person:
            return Withheld.RECIPIENT
        if state.closed:
            return Withheld.CLOSED
        if CommitmentStatus(row["status"]) not in LEVEL_SHARES[state.update_level]:
            return Withheld.PREFERENCE
        return None
