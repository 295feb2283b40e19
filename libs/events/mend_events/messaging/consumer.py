"""Consuming other services' events: at-least-once delivery, exactly-once effect.

For each message the handler's effects and an inbox row commit in one PostgreSQL
transaction; only then is the Kafka offset committed (faststream with a MANUAL ack policy:
its default commits on receipt, which would lose a message on a crash). A redelivered message
finds its inbox row and changes nothing. A message that cannot be parsed goes at once to the
dead-letter topic; one whose handler keeps failing goes there after `max_attempts`. Either way
the partition moves on.

Every message passes one check before any handler sees it (`_validated`), in every consumer
alike: a well-formed CloudEvent, from the service whose topic it is on, whose data its contract
accepts; a type this process does not know is counted and logged by type, then dead-lettered.
Dead letters carry well-formed ids, where the message was and the kinds of error with their
field paths: never its body, never a value it held.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import asyncpg
import structlog
from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

# Every service's contracts registered before any message is judged: a type is "unknown" only
# when no service of the platform publishes it, never because this process did not import it.
import mend_events.contracts.catalog  # noqa: F401
from mend_events import metrics
from mend_events.app.settings import FROM_ENV, KafkaAuth, faststream_security
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.events import UnknownEvent
from mend_events.messaging.cloudevents import MalformedMessage, from_message
from mend_events.messaging.consumer_errors import (
    POISON,
    TRANSIENT,
    dead_letter_headers,
    dead_letter_key,
    describe_error,
)
from mend_events.messaging.inbox import (
    Handler,
    Inbox,
    Position,
    PositionHook,
    position_of,
)

log = structlog.get_logger("mend.consumer")


class InboxConsumer:
    def __init__(
        self,
        *,
        name: str,
        pool: asyncpg.Pool,
        schema: str,
        bootstrap: str,
        topics: Sequence[str],
        handler: Handler,
        dlq_topic: str,
        max_attempts: int = 3,
        retry_delay: float = 0.05,
        fetch_max_wait_ms: int = 500,
        on_position: PositionHook | None = None,
        max_batch: int = 200,
        commit_interval: float = 0.25,
        auth: KafkaAuth | None = FROM_ENV,
        read_only: bool = False,
    ) -> None:
        self.name = name
        # A read-only principal (the web app's index) has no producer and no dead-letter topic:
        # what it cannot apply is logged and counted (the publishing service's own consumers
        # dead-letter the same message).
        self.read_only = read_only
        self.on_position = on_position
        self.pool = pool
        self.schema = schema
        self.topics = list(topics)
        self.handler = handler
        self.dlq_topic = dlq_topic
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.processed = 0
        self.dead_lettered = 0
        self.running = False
        # Messages of event types this process does not know, by type: counted and logged,
        # then dead-lettered like any message that cannot be applied (never silently dropped).
        self.unknown_types: Counter[str] = Counter()
        # Which service may publish on each consumed topic: an event whose source is another
        # service is refused, whoever managed to write it there.
        self._source_of = {t: _service_of_topic(t) for t in self.topics}
        self.commit_interval = commit_interval
        self._committing: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()  # cuts a commit pause short to commit at once
        self._uncommitted: dict[TopicPartition, int] = {}  # applied, not yet sent in a commit
        self._applied = metrics.CONSUMED.labels(name)
        self._duplicates = metrics.INBOX_DUPLICATES.labels(name)
        # No dependency injection: it would resolve the message argument in a worker thread,
        # a thread hop per batch. The decoder hands the handler the message itself instead.
        self.broker = KafkaBroker(
            bootstrap,
            enable_idempotence=True,
            acks="all",
            logger=None,
            client_id=f"mend-{name}",
            apply_types=False,
            security=faststream_security(auth),
            consumer_only=read_only,
        )
        subscriber = self.broker.subscriber(
            *self.topics,
            group_id=name,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            # The broker answers a waiting fetch as soon as data arrives, so a long wait costs
            # no latency; a short one only polls the broker (and burns CPU) while idle.
            fetch_max_wait_ms=fetch_max_wait_ms,
            max_poll_interval_ms=10 * 60 * 1000,
            decoder=_the_message,
            batch=True,
            max_records=max_batch,
        )
        poll_without_pause(subscriber, fetch_max_wait_ms)
        subscriber(self._on_batch)
        self.subscriber = subscriber

    async def start(self) -> None:
        self._stopping.clear()
        await self.broker.start()
        self.running = True

    async def reachable(self, within: float = 2.0) -> bool:
        """Whether the broker answers this consumer's client now (readiness)."""
        return bool(await self.broker.ping(within))

    async def stop(self) -> None:
        self.running = False
        self._stopping.set()
        if self._committing is not None:
            await self._committing
        await self.broker.stop()

    async def _on_batch(self, msg: KafkaMessage) -> None:
        # Nothing may escape unhandled: with a manual ack, the next batch's commit would
        # silently move the offset past these. Faults of our own infrastructure (the database
        # away, the dead-letter publish while the broker restarts) are retried until they pass.
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        settled: set[tuple[str, int, int]] = set()  # dead-lettered already: not twice
        while True:
            try:
                await self._process_batch(records, settled)
                break
            except Exception as exc:
                log.warning("consumer.retrying", consumer=self.name, error=describe_error(exc))
                await asyncio.sleep(0.5)
        # Commit exactly these offsets, in the background: the next batch need not wait for
        # the broker. One commit is in flight at a time, and at most one per
        # `commit_interval`; batches applied meanwhile go in the next one together (a commit
        # per batch cost the broker a write and this process a round trip for every one or
        # two messages). A commit lost to a crash or a rebalance only redelivers what the
        # inbox has already absorbed.
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self._uncommitted[tp] = max(self._uncommitted.get(tp, 0), record.offset + 1)
        self._note_lag(msg.consumer, records)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit(msg.consumer))

    def _note_lag(self, consumer: Any, records: tuple[Any, ...]) -> None:
        """Messages behind on each partition of the batch: the broker's high watermark (as of
        the last fetch) after the last one applied."""
        last: dict[tuple[str, int], int] = {}
        for record in records:
            last[(record.topic, record.partition)] = record.offset
        for (topic, partition), offset in last.items():
            try:
                high = consumer.highwater(TopicPartition(topic, partition))
            except Exception:  # not known yet (or not an aiokafka consumer): no figure
                continue
            if high is not None:
                lag = max(0, high - offset - 1)
                metrics.CONSUMER_LAG.labels(self.name, topic, str(partition)).set(lag)

    async def _commit(self, consumer: Any) -> None:
        while self._uncommitted:
            offsets, self._uncommitted = self._uncommitted, {}
            try:
                await consumer.commit(offsets)
            except Exception as exc:  # the partition moved on to another member: redelivers
                log.info("consumer.commit_skipped", consumer=self.name, error=describe_error(exc))
            if not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.commit_interval)

    async def _process_batch(
        self, records: tuple[Any, ...], settled: set[tuple[str, int, int]]
    ) -> None:
        """Apply a fetched batch in one transaction (one commit for all of it); if anything
        in it fails, apply its messages one by one so that only the bad one is retried and,
        in the end, dead-lettered."""
        parsed: list[tuple[Any, RecordedEvent]] = []
        for raw in records:
            try:
                parsed.append((raw, self._validated(raw)))
            except POISON as exc:
                await self._dead_letter_once(raw, exc, 1, settled)
        if len(parsed) > 1:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    duplicates = await self._inbox().apply_batch(conn, parsed)
                self.processed += len(parsed)
                self._applied.inc(len(parsed))
                self._duplicates.inc(duplicates)
                return
            except TRANSIENT:
                raise
            except Exception as exc:
                log.info("consumer.isolating", consumer=self.name, error=describe_error(exc))
        for raw, event in parsed:
            try:
                await self._apply(event, position_of(self.name, raw))
                self.processed += 1
                self._applied.inc()
            except POISON as exc:
                await self._dead_letter_once(raw, exc, 1, settled)
            except _GaveUp as gave_up:
                await self._dead_letter_once(raw, gave_up.cause, self.max_attempts, settled)

    def _validated(self, raw: Any) -> RecordedEvent:
        """The one check every message passes before any handler sees it, in every consumer
        alike: a Mend CloudEvent, from the service whose topic it is on, whose data its
        contract accepts. Handlers that never decode a type still never apply an invalid one."""
        event = from_message(raw.value, raw.headers)
        source = self._source_of.get(raw.topic)
        if source is not None and event.service != source:
            raise MalformedMessage("the event's source is not the topic's service", "ce_source")
        try:
            event.decode()
        except UnknownEvent as exc:
            exc.event_type = event.event_type  # counted and logged once, as it is dead-lettered
            raise
        return event

    async def _apply(self, event: RecordedEvent, position: Position) -> None:
        """One message in its own transaction, retried; gives up after `max_attempts`."""
        failures = 0
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    duplicate = await self._inbox().apply_one(conn, event, position)
                self._duplicates.inc(duplicate)
                return
            except POISON:
                raise
            except TRANSIENT as exc:
                log.warning("consumer.transient", consumer=self.name, error=describe_error(exc))
                await asyncio.sleep(0.5)
            except Exception as exc:
                failures += 1
                log.warning(
                    "consumer.handler_failed",
                    consumer=self.name,
                    event_id=str(event.event_id),
                    attempt=failures,
                    error=describe_error(exc),
                )
                if failures >= self.max_attempts:
                    raise _GaveUp(exc) from exc
                await asyncio.sleep(self.retry_delay * failures)

    def _inbox(self) -> Inbox:
        return Inbox(self.schema, self.name, self.handler, self.on_position)

    async def _dead_letter_once(
        self, raw: Any, exc: BaseException, attempts: int, settled: set[tuple[str, int, int]]
    ) -> None:
        where = (raw.topic, raw.partition, raw.offset)
        if where not in settled:
            await self._dead_letter(raw, exc, attempts)
            settled.add(where)

    async def _dead_letter(self, raw, exc: BaseException, attempts: int) -> None:
        """Publish what an operator needs to find and judge the message, and nothing it said
        (see `consumer_errors.dead_letter_headers`)."""
        event_type = getattr(exc, "event_type", None)
        if isinstance(exc, UnknownEvent) and event_type:
            self.unknown_types[event_type] += 1
            log.warning("consumer.unknown_type", type=event_type, topic=raw.topic)
        if self.read_only:
            self.dead_lettered += 1
            where = {"topic": raw.topic, "partition": raw.partition, "offset": raw.offset}
            log.error("consumer.skipped", consumer=self.name, error=describe_error(exc), **where)
            return
        headers = dead_letter_headers(raw, exc, self.name, attempts)
        key = dead_letter_key(raw)
        await self.broker.publish(b"", topic=self.dlq_topic, key=key, headers=headers)
        self.dead_lettered += 1
        metrics.DEAD_LETTERS.labels(self.name, type(exc).__name__).inc()
        log.error(
            "consumer.dead_letter",
            consumer=self.name,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            error=describe_error(exc),
        )


def _service_of_topic(topic: str) -> str | None:
    """`consent` for `<prefix>consent.events.v1`; None for a topic not named that way."""
    if not topic.endswith(".events.v1"):
        return None
    return topic.removesuffix(".events.v1").rsplit(".", 1)[-1]


async def _the_message(msg: Any) -> Any:
    """faststream's decoder, bypassed: the handler parses the raw records itself, so a broken
    body reaches it (and the dead-letter topic) instead of failing before it."""
    return msg


class _GaveUp(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


def poll_without_pause(subscriber: Any, wait_ms: int) -> None:
    """Make a faststream batch subscriber wait for data in the poll itself, and never sleep.

    faststream (0.7) polls with `batch_timeout_ms` and, after an empty poll, sleeps as long
    again before the next: a message arriving during that sleep waits it out, on a withdrawal's
    way to its halt too. aiokafka's `getmany` returns as soon as records arrive, so one long
    poll costs no latency and, while idle, wakes the process far less often than short polls."""
    max_records = subscriber.max_records

    async def get_msg(consumer: Any) -> tuple[Any, ...]:
        batches = await consumer.getmany(timeout_ms=wait_ms, max_records=max_records)
        return tuple(chain.from_iterable(batches.values()))

    subscriber.get_msg = get_msg
