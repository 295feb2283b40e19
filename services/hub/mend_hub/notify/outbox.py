"""The outbox: a projection of the hub's own reminder and notice events into rows, and the
deliverer that settles due rows through their channel. A reminder is sent only if the person's
choice allows it at that moment (`domain.may_send`, read from their stream, never a copy), so an
opt-out holds from the next delivery on, whatever was queued; a reminder whose person is not
opted in any more is withheld, one outside their hours waits for their next allowed hour.

Rows are never deleted: a rebuild re-applies the events over them (inserts that exist change
nothing, a cancellation touches only what is pending), so nothing sent is sent again."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from mend_events.contracts.catalog.hub import (
    NOTICES_STREAM,
    PERSON_STREAM,
    ContactChannel,
    ContactRouteRecorded,
    ContactRouteRemoved,
    ReminderCancelled,
    ReminderKind,
    ReminderQueued,
    StaffNotified,
    reminders_stream,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.security.crypto import FieldSealer
from mend_events.store import EventStore
from mend_events.store.projection import OwnTables

from mend_hub.notify.channels import BODY, SUBJECT, Channel
from mend_hub.notify.domain import choices, may_send

log = structlog.get_logger("mend.hub.notify")


class NotifyOutbox(OwnTables):
    name = "notify_outbox"
    tables = ("notify_outbox",)

    async def reset(self, conn: asyncpg.Connection) -> None:
        return None  # delivery state is not in the events: a rebuild keeps it (see above)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        table = f"{self.schema}.notify_outbox"
        for e in events:
            if not e.stream_id.startswith(NOTICES_STREAM):
                continue
            case_id, data = e.stream_id.removeprefix(NOTICES_STREAM), e.data
            if e.event_type == ReminderQueued.event_type:
                await conn.execute(
                    f"INSERT INTO {table} (item_id, kind, case_id, agency, recipient_id, topic, "
                    f"due_at) VALUES ($1, 'reminder', $2, $3, $4, $5, $6) "
                    f"ON CONFLICT (item_id) DO NOTHING",
                    data["reminder_id"], case_id, e.metadata.agency, data["person_id"],
                    data["kind"], datetime.fromisoformat(data["due_at"]),
                )  # fmt: skip
            elif e.event_type == ReminderCancelled.event_type:
                await conn.execute(
                    f"UPDATE {table} SET status = 'cancelled', cause_event_id = $2, "
                    f"settled_at = $3 WHERE item_id = $1 AND status = 'pending'",
                    data["reminder_id"], data["cause_event_id"], e.metadata.occurred_at,
                )  # fmt: skip
            elif e.event_type == StaffNotified.event_type:
                await conn.execute(
                    f"INSERT INTO {table} (item_id, kind, case_id, agency, recipient_id, topic, "
                    f"due_at, cause_event_id) VALUES ($1, 'notice', $2, $3, $4, $5, $6, $7) "
                    f"ON CONFLICT (item_id) DO NOTHING",
                    data["notice_id"], case_id, e.metadata.agency, data["practitioner_id"],
                    data["reason"], e.metadata.occurred_at, data["cause_event_id"],
                )  # fmt: skip

    async def notices(
        self, conn: asyncpg.Connection, agency: str, practitioner_id: str
    ) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            f"SELECT item_id, case_id, topic, due_at, cause_event_id, status "
            f"FROM {self.schema}.notify_outbox WHERE agency = $1 AND recipient_id = $2 "
            f"AND kind = 'notice' ORDER BY due_at DESC LIMIT 200",
            agency, practitioner_id,
        )  # fmt: skip
        return [
            {
                "notice_id": str(r["item_id"]),
                "case_id": r["case_id"],
                "reason": r["topic"],
                "at": r["due_at"].isoformat(),
                "cause_event_id": str(r["cause_event_id"]),
                "delivered": r["status"] == "sent",
            }
            for r in rows
        ]

    async def reminders(self, conn: asyncpg.Connection, agency: str, person_id: str) -> list[Any]:
        return list(
            await conn.fetch(
                f"SELECT item_id, status, due_at, cause_event_id FROM {self.schema}.notify_outbox"
                f" WHERE agency = $1 AND recipient_id = $2 AND kind = 'reminder'",
                agency,
                person_id,
            )
        )


class Deliverer:
    """Settles the due rows, a batch at a time, each row locked while it is settled (two
    processes never send one twice)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        sealer: FieldSealer,
        channels: dict[str, Channel],
        clock: Callable[[], datetime],
    ) -> None:
        self.pool, self.store, self.sealer = pool, store, sealer
        self.channels, self.clock = channels, clock

    async def run_once(self, batch: int = 50) -> dict[str, int]:
        now, settled = self.clock(), {"sent": 0, "withheld": 0, "waiting": 0}
        table = f"{self.store.schema}.notify_outbox"
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT * FROM {table} WHERE status = 'pending' AND due_at <= $1 "
                f"ORDER BY due_at LIMIT {int(batch)} FOR UPDATE SKIP LOCKED",
                now,
            )
            for row in rows:
                outcome, later = await self._settle(row, now)
                settled[outcome] += 1
                if outcome == "waiting":
                    if later is not None:
                        await conn.execute(
                            f"UPDATE {table} SET due_at = $2 WHERE item_id = $1", row["item_id"],
                            later,
                        )  # fmt: skip
                    continue
                status = "sent" if outcome == "sent" else "withheld"
                await conn.execute(
                    f"UPDATE {table} SET status = $2, settled_at = $3 WHERE item_id = $1",
                    row["item_id"], status, now,
                )  # fmt: skip
        if rows:
            log.info("notify.settled", **settled)  # counts only: never an address or a text
        return settled

    async def _settle(self, row: Mapping[str, Any], now: datetime) -> tuple[str, datetime | None]:
        if row["kind"] == "notice":
            channel = self.channels.get("in_app")
            if channel is None:
                return "waiting", None
            await channel.send(row["recipient_id"], SUBJECT, BODY)
            return "sent", None
        stream = reminders_stream(row["agency"], row["recipient_id"])
        choice = choices.fold(stream, ((e.decode(), e.metadata)
                                       for e in await self.store.read_stream(stream)))  # fmt: skip
        kind = ReminderKind(row["topic"])
        if not choice.opted_into(kind):
            return "withheld", None  # never sent to someone not opted in (any more)
        if not may_send(choice, kind, now):
            nxt = now.replace(minute=0, second=0, microsecond=0)
            for _ in range(25):
                nxt += timedelta(hours=1)
                if choice.within_hours(nxt):
                    return "waiting", nxt
            return "withheld", None
        address = await self._address(row["recipient_id"], choice.route_id)
        channel = self.channels.get("email")
        if address is None:
            return "withheld", None  # the route is gone or erased
        if channel is None:
            return "waiting", None
        try:
            await channel.send(address, SUBJECT, BODY)
        except OSError as exc:  # the server is away: try again at the next round
            log.warning("notify.channel_failed", error=type(exc).__name__)
            return "waiting", None
        return "sent", None

    async def _address(self, person_id: str, route_id: Any) -> str | None:
        """The route's address opened from the person's sealed record; None if it was removed,
        is not an e-mail route, or the person's data was erased."""
        found: RecordedEvent | None = None
        for e in await self.store.read_stream(f"{PERSON_STREAM}{person_id}"):
            if e.data.get("route_id") != str(route_id):
                continue
            if e.event_type == ContactRouteRecorded.event_type:
                found = e
            elif e.event_type == ContactRouteRemoved.event_type:
                found = None
        if found is None or found.data.get("channel") != ContactChannel.EMAIL:
            return None
        opened = await self.sealer.open_recorded(found, personal_owner="person_id")
        address = opened.get("address")
        return address if isinstance(address, str) and address else None
