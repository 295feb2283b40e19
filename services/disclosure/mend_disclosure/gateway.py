"""The gateway's decision loop: held candidates become disclosures once nothing about their
grants can still be on its way.

The ordering problem: events reach the gateway on five topics with no order between them, so
an event that occurred after a withdrawal may arrive before the withdrawal does. The rule
kept here: no event that occurred after a withdrawal's occurred_at is disclosed under the
grant it ended. A candidate (an event that some allowlist rule names) is held until

1. its hold has passed: now >= occurred_at + hold (`MEND_DISCLOSURE_HOLD`, seconds); then
2. the consent topic's high-water marks are read (its barrier, kept with the candidate); then
3. the gateway's consent consumer has applied every consent partition up to its barrier;

and only then are the grants read, as of the event's occurred_at. A withdrawal that occurred
before the event and reached the consent topic before the barrier was read is in the grants by
step 3. While the consent consumer lags, every candidate waits (the gateway holds rather than
guesses). The residual: a withdrawal recorded by the consent service but not yet published to
its topic when the barrier is read (its relay down, or behind, for longer than the hold) is not
seen; the event is disclosed under the grant as it was, and the notice follows when the relay
publishes. Readiness reports the candidates held past twice the hold (`held_too_long`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from mend_events.app.settings import KafkaAuth, kafka_options
from mend_events.contracts.events import registry
from mend_events.security.cases import CaseDirectory

from mend_disclosure.dispatch import Dispatch
from mend_disclosure.domain import Allowlist, disclosures
from mend_disclosure.domain.allowlist import HARMED_PERSON
from mend_disclosure.read_models import Candidates, GrantBook, PartnerKeys, Positions

log = structlog.get_logger("mend.disclosure.gateway")


def caught_up(barrier: dict[str, int], positions: dict[int, int]) -> bool:
    return all(positions.get(int(p), 0) >= hwm for p, hwm in barrier.items())


class Watermarks:
    """The consent topic's high-water marks, asked of the broker (one client, kept open)."""

    def __init__(self, bootstrap: str, topic: str, auth: KafkaAuth | None) -> None:
        self.bootstrap, self.topic, self.auth = bootstrap, topic, auth
        self._client: AIOKafkaConsumer | None = None

    async def read(self) -> dict[int, int]:
        if self._client is None:
            client = AIOKafkaConsumer(**kafka_options(self.bootstrap, self.auth))
            await client.start()
            self._client = client
        parts = self._client.partitions_for_topic(self.topic)
        if not parts:
            await self._client._client.force_metadata_update()  # a topic made since the start
            parts = self._client.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        ends = await self._client.end_offsets(tps) if tps else {}
        return {tp.partition: offset for tp, offset in ends.items()}

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.stop()
            self._client = None


class Gateway:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        *,
        consent_topic: str,
        allowlist: Allowlist,
        dispatch: Dispatch,
        watermarks: Watermarks,
        hold: timedelta,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool, self.schema = pool, schema
        self.consent_topic = consent_topic
        self.allowlist, self.dispatch, self.watermarks = allowlist, dispatch, watermarks
        self.hold, self.batch, self.clock = hold, batch, clock
        self.candidates, self.grants = Candidates(schema), GrantBook(schema)
        self.keys, self.positions = PartnerKeys(schema), Positions(schema)
        self.directory = CaseDirectory(schema)
        self.disclosed = 0
        self.lagging = 0  # candidates due but waiting for the consent consumer (last pass)
        self.no_key = 0
        # Since when due candidates have waited for the consent consumer (None: they do not):
        # partner reads are refused while it lasts longer than the hold (service.shared).
        self.lagging_since: datetime | None = None

    def consent_lags(self) -> bool:
        since = self.lagging_since
        return since is not None and self.clock() - since > self.hold

    async def pass_once(self) -> int:
        """Decide every due candidate whose barrier is passed; returns how many were decided."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            due = list(await self.candidates.due(conn, now - self.hold, self.batch))
        if not due:
            self.lagging, self.lagging_since = 0, None
            return 0
        fresh = [r["event_id"] for r in due if r["barrier"] is None]
        if fresh:
            # Read after the hold has passed for each of them: what the consent topic holds now.
            marks = await self.watermarks.read()
            async with self.pool.acquire() as conn:
                await self.candidates.set_barrier(conn, fresh, marks)
                due = list(await self.candidates.due(conn, now - self.hold, self.batch))
        async with self.pool.acquire() as conn:
            positions = await self.positions.of_topic(conn, self.consent_topic)
        decided, blocked = 0, 0
        for row in due:
            barrier = row["barrier"]
            if barrier is None or not caught_up(barrier, positions):
                blocked += 1
                continue
            decided += await self._decide(row, now)
        self.lagging = blocked
        if not blocked:
            self.lagging_since = None
        elif self.lagging_since is None:
            self.lagging_since = now
        return decided

    async def _decide(self, row: Any, now: datetime) -> int:
        event_type, case_id = row["event_type"], row["case_id"]
        data = row["data"]
        async with self.pool.acquire() as conn, conn.transaction():
            gone = await conn.fetchval(
                f"SELECT 1 FROM {self.schema}.candidates WHERE event_id = $1 FOR UPDATE SKIP "
                f"LOCKED",
                row["event_id"],
            )
            if gone is None:
                return 0  # another instance has it
            rule = self.allowlist.rule(event_type)
            entry = await self.directory.entry(conn, case_id)
            if rule is not None and rule.subject == HARMED_PERSON and entry is None:
                return 0  # the case's opening has not arrived yet: keep holding
            grants = await self.grants.of_case(conn, case_id)
            found = disclosures(
                self.allowlist, event_type=event_type, case_id=case_id,
                occurred_at=row["occurred_at"], data=data,
                harmed_person=None if entry is None else entry.harmed_person_id, grants=grants,
            )  # fmt: skip
            keys = await self.keys.current(conn) if found else {}
            for d in found:
                key = keys.get(d.agency)
                if key is None:
                    self.no_key += 1
                    log.warning("disclosure.no_sharing_key", agency=d.agency, type=event_type)
                    continue
                await self.dispatch.disclose(
                    conn, d, event_id=row["event_id"], event_type=event_type, case_id=case_id,
                    occurred_at=row["occurred_at"], public_key=key[1], now=now,
                )  # fmt: skip
                self.disclosed += 1
            await self.candidates.done(conn, row["event_id"])
        return 1


def allowlisted_types(allowlist: Allowlist) -> dict[str, tuple[str, ...]]:
    """The allowlisted event types by the service whose topic carries them."""
    by_service: dict[str, list[str]] = {}
    for event_type in allowlist.rules:
        module = registry.model(event_type).__module__.rsplit(".", 1)[-1]
        by_service.setdefault(module, []).append(event_type)
    return {s: tuple(sorted(t)) for s, t in by_service.items()}
