"""The consistency window between a withdrawal and this service, and how it is bounded.

This service learns of consent (and risk) only through Kafka: the consent service commits a
`ConsentWithdrawn` to its own store, its relay publishes it to `consent.events.v1` (key = case
id, so one partition holds all of a case's consent events, in order), and this service's
`consent` subscription applies it to the `consent_grants` view and halts what depended on it, in
one inbox transaction that also records the partition offset it reached (`consumer_positions`).

**The window.** A start (or schedule) decided from the view between the withdrawal's commit in
the consent store and its application here would pass the consent gate on a consent already
withdrawn. Unbounded, that window is relay lag + broker + consumer lag: seconds under load,
for ever while this service's consumer is down.

**The bound.** Before scheduling or starting a contact session, `ConsistencyGuard.ensure` asks
the broker for the end offset of the case's partition of the consent (and risk) topic and waits
until this service has applied every message below it, for at most `max_lag_ms`
(`MEND_SESSIONS_MAX_CONSENT_LAG_MS`, default 2000). If it has not caught up by then, or the
broker cannot be asked, the command is refused with `errors.Unavailable` (HTTP 503, saying
why), never passed silently. A message that went to the dead-letter topic records no position,
so its partition keeps refusing until a later message is applied there: the guard fails closed.

Then the decision itself runs under a per-case advisory lock that every reaction taking a fact
away also takes, in its inbox transaction, before writing the view and halting. So a withdrawal
consumed during a start either commits first (the start reads the new view and refuses) or after
(its reaction sees the started session and halts it, naming the withdrawal). A fact added
(consent given, acknowledgement recorded) is written without the lock: a start that misses it
only refuses.

**What remains.** A withdrawal committed in the consent store but not yet published by the
consent relay when the guard reads the end offset (the relay's own lag, typically milliseconds;
unbounded only while the consent relay or the broker is down) is not waited for: a session may
start on it, and is halted as soon as the withdrawal is consumed. So:

    a session can start on a withdrawn consent only if the withdrawal was committed less than
    (consent relay lag) before the start's end-offset read; it is then halted within
    (relay lag + consumer lag) of the withdrawal, by a SessionHalted naming it.

A start that succeeds has seen every consent event the broker held for its case when the
request arrived, as long as this service applied them within `max_lag_ms`; otherwise 503.
Measured by the lead's benchmark (withdrawal accepted -> SessionHalted, p50/p99).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from mend_events.app.settings import kafka_options
from mend_events.errors import Unavailable
from mend_events.messaging.inbox import Position

from mend_sessions.settings import SessionsSettings

log = structlog.get_logger("mend.sessions.consistency")

DEFAULT_MAX_LAG_MS = 2000


def max_lag_from_env() -> int:
    """`MEND_SESSIONS_MAX_CONSENT_LAG_MS` (a bad value stops the service at start)."""
    return SessionsSettings.load().sessions_max_consent_lag_ms


@dataclass(frozen=True, slots=True)
class Watched:
    """A subscription whose view gates contact: its consumer (group) name and its topic."""

    consumer: str
    topic: str
    what: str  # how a refusal names it, e.g. "consent"


class ConsistencyGuard:
    def __init__(
        self,
        pool: asyncpg.Pool,
        positions: ConsumerPositions,
        bootstrap: str,
        watched: Sequence[Watched],
        *,
        max_lag_ms: int = DEFAULT_MAX_LAG_MS,
        poll_interval: float = 0.005,
    ) -> None:
        self.pool = pool
        self.positions = positions
        self.bootstrap = bootstrap
        self.watched = list(watched)
        self.max_lag_ms = max_lag_ms
        self.poll_interval = poll_interval
        self._kafka: AIOKafkaConsumer | None = None
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()

    async def start(self) -> None:
        # No group, no subscription: only metadata and ListOffsets requests.
        self._kafka = AIOKafkaConsumer(
            **kafka_options(self.bootstrap), enable_auto_commit=False, request_timeout_ms=10_000
        )
        await self._kafka.start()

    async def stop(self) -> None:
        if self._kafka is not None:
            await self._kafka.stop()
            self._kafka = None

    async def ensure(self, case_id: str) -> float:
        """Return once every consent and risk message the broker holds for this case's
        partition is applied here (seconds waited); raise Unavailable after `max_lag_ms`."""
        started = time.monotonic()
        deadline = started + self.max_lag_ms / 1000
        try:
            ends = await asyncio.wait_for(
                self._end_offsets(case_id.encode()), timeout=max(deadline - started, 0.001)
            )
        except (KafkaError, TimeoutError, OSError) as exc:
            log.warning("sessions.guard_broker_unavailable", error=type(exc).__name__)
            raise Unavailable(
                "cannot confirm that every consent withdrawal for this case has been received "
                "(the message broker did not answer in time); nothing was scheduled or started: "
                "try again shortly"
            ) from None
        pending = {w: end for w, end in ends.items() if end > 0}
        while pending:
            async with self.pool.acquire() as conn:
                done = await self.positions.processed(
                    conn, [(w.consumer, tp.topic, tp.partition) for w, tp in pending]
                )
            pending = {
                (w, tp): end
                for (w, tp), end in pending.items()
                if done.get((w.consumer, tp.topic, tp.partition), -1) < end - 1
            }
            if not pending:
                break
            if time.monotonic() >= deadline:
                behind = sorted({w.what for w, _ in pending})
                log.warning("sessions.guard_lagging", case_id=case_id, behind=behind)
                raise Unavailable(
                    f"this service's view of {' and '.join(behind)} for this case is more than "
                    f"{self.max_lag_ms} ms behind the message broker, so a recent withdrawal or "
                    f"risk flag may not be applied yet; nothing was scheduled or started: try "
                    f"again shortly"
                )
            await asyncio.sleep(self.poll_interval)
        return time.monotonic() - started

    async def _end_offsets(self, key: bytes) -> dict[tuple[Watched, TopicPartition], int]:
        assert self._kafka is not None, "the guard is not started"
        targets: dict[tuple[Watched, TopicPartition], TopicPartition] = {}
        for w in self.watched:
            partitions = await self._partitions_of(w.topic)
            if not partitions:
                continue  # the topic does not exist yet: no message can be pending on it
            # The relay's producer partitions by the case id with this same partitioner.
            tp = TopicPartition(w.topic, self._partitioner(key, partitions, partitions))
            targets[(w, tp)] = tp
        if not targets:
            return {}
        ends = await self._kafka.end_offsets(list(set(targets.values())))
        return {target: ends[tp] for target, tp in targets.items()}

    async def _partitions_of(self, topic: str) -> list[int]:
        known = self._partitions.get(topic)
        if known:
            return known
        assert self._kafka is not None
        if topic not in await self._kafka.topics():
            return []
        # Ask for partition 0 once so the client tracks the topic, then read its partitions.
        await self._kafka.end_offsets([TopicPartition(topic, 0)])
        partitions = sorted(self._kafka.partitions_for_topic(topic) or ())
        if partitions:
            self._partitions[topic] = partitions
        return partitions


class ConsumerPositions:
    """The highest offset each subscription has applied, per topic and partition."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def record(self, conn: asyncpg.Connection, position: Position) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.consumer_positions AS p (consumer, topic, "
            f"kafka_partition, processed_offset) VALUES ($1, $2, $3, $4) "
            f"ON CONFLICT (consumer, topic, kafka_partition) DO UPDATE SET "
            f"processed_offset = greatest(p.processed_offset, EXCLUDED.processed_offset), "
            f"updated_at = now()",
            position.consumer,
            position.topic,
            position.partition,
            position.offset,
        )

    async def processed(
        self, conn: asyncpg.Connection, targets: Sequence[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], int]:
        """For (consumer, topic, partition) targets: the last offset applied (absent: none)."""
        rows = await conn.fetch(
            f"SELECT consumer, topic, kafka_partition, processed_offset "
            f"FROM {self.schema}.consumer_positions p "
            f"JOIN unnest($1::text[], $2::text[], $3::int[]) AS t(c, tp, pa) "
            f"ON p.consumer = t.c AND p.topic = t.tp AND p.kafka_partition = t.pa",
            [t[0] for t in targets],
            [t[1] for t in targets],
            [t[2] for t in targets],
        )
        return {
            (r["consumer"], r["topic"], r["kafka_partition"]): r["processed_offset"] for r in rows
        }


async def lock_case(
    conn: asyncpg.Connection, schema: str, case_id: str, *, timeout_ms: float | None = None
) -> None:
    """Serialise, per case, gated decisions and the reactions that change their facts; held
    until the transaction ends. `timeout_ms`: wait at most this long for it (for the rest of
    the transaction), else `asyncpg.LockNotAvailableError`."""
    if timeout_ms is not None:
        await conn.execute(f"SET LOCAL lock_timeout = '{int(timeout_ms)}ms'")
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{schema}:case:{case_id}"
    )
