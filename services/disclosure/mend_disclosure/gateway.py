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
from mend_events import metrics
from mend_events.app.settings import KafkaAuth, kafka_options
from mend_events.contracts.events import registry

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
        ready = []
        for row in due:
            barrier = row["barrier"]
            if barrier is not None and caught_up(barrier, positions):
                ready.append(row)
        decided = await self._decide(ready, now) if ready else 0
        blocked = len(due) - len(ready)
        self.lagging = blocked
        metrics.DISCLOSURE_HELD.set(blocked)
        if not blocked:
            self.lagging_since = None
        elif self.lagging_since is None:
            self.lagging_since = now
        return decided

    async def _decide(self, rows: list[Any], now: datetime) -> int:
        """Decide `rows` in one transaction (one ledger lock, one statement per table); a row
        another instance holds is skipped, one whose case is not known yet stays held."""
        async with self.pool.acquire() as conn, conn.transaction():
            locked = {
                r[0]
                for r in await conn.fetch(
                    f"SELECT event_id FROM {self.schema}.candidates "
                    f"WHERE event_id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED",
                    [r["event_id"] for r in rows],
                )
            }
            rows = [r for r in rows if r["event_id"] in locked]
            cases = sorted({r["case_id"] for r in rows})
            harmed = {
                r[0]: r[1]
                for r in await conn.fetch(
                    f"SELECT case_id, harmed_person_id FROM {self.schema}.case_directory "
                    f"WHERE case_id = ANY($1::text[])",
                    cases,
                )
            }
            grants = await self.grants.of_cases(conn, cases)
            keys = await self.keys.current(conn)
            outgoing, done = [], []
            for row in rows:
                event_type, case_id = row["event_type"], row["case_id"]
                rule = self.allowlist.rule(event_type)
                if rule is not None and rule.subject == HARMED_PERSON and case_id not in harmed:
                    continue  # the case's opening has not arrived yet: keep holding
                found = disclosures(
                    self.allowlist, event_type=event_type, case_id=case_id,
                    occurred_at=row["occurred_at"], data=row["data"],
                    harmed_person=harmed.get(case_id), grants=grants.get(case_id, []),
                )  # fmt: skip
                for d in found:
                    key = keys.get(d.agency)
                    if key is None:
                        self.no_key += 1
                        metrics.DISCLOSURE_NO_KEY.inc()
                        log.warning("disclosure.no_sharing_key", agency=d.agency, type=event_type)
                        continue
                    outgoing.append(self.dispatch.prepare(
                        d, event_id=row["event_id"], event_type=event_type, case_id=case_id,
                        occurred_at=row["occurred_at"], public_key=key[1], now=now,
                    ))  # fmt: skip
                done.append(row["event_id"])
            await self.dispatch.record(conn, outgoing)
            await conn.execute(
                f"DELETE FROM {self.schema}.candidates WHERE event_id = ANY($1::uuid[])", done
            )
            self.disclosed += len(outgoing)
            metrics.DISCLOSED.labels("disclosure").inc(len(outgoing))
        return len(done)


def allowlisted_types(allowlist: Allowlist) -> dict[str, tuple[str, ...]]:
    """The allowlisted event types by the service whose topic carries them."""
    by_service: dict[str, list[str]] = {}
    for event_type in allowlist.rules:
        module = registry.model(event_type).__module__.rsplit(".", 1)[-1]
        by_service.setdefault(module, []).append(event_type)
    return {s: tuple(sorted(t)) for s, t in by_service.items()}
