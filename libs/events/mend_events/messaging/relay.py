"""The relay: tails a service's events table by global position and publishes each event to
Kafka (CloudEvents, key = case id) with an idempotent producer, moving its checkpoint only
after the broker acknowledged. One active relay per schema: an advisory lock elects it, so
replicas stand by instead of double publishing. LISTEN/NOTIFY only wakes it; polling is truth.

A crash between the broker's ack and the checkpoint publishes those events again on restart:
delivery is at least once, and consumers' inboxes make the effect exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import zlib

import asyncpg
import structlog
import uvloop
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from mend_events import metrics
from mend_events.app.config import MendSettings
from mend_events.app.db import connect, init_connection
from mend_events.app.settings import FROM_ENV, KafkaAuth, kafka_options
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.store import EventStore

log = structlog.get_logger("mend.relay")
_PARTITIONER = DefaultPartitioner()


def producer_for(
    bootstrap: str, auth: KafkaAuth | None = FROM_ENV, **overrides: object
) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates from its retries;
    authenticated as `auth` (by default the process's own principal)."""
    settings: dict[str, object] = {
        **kafka_options(bootstrap, auth),
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 1,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 30_000,
    }
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


class Relay:
    def __init__(
        self,
        store: EventStore,
        dsn: str,
        bootstrap: str,
        topic: str,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.5,
        checkpoint_interval: float = 0.25,
        auth: KafkaAuth | None = FROM_ENV,
    ) -> None:
        self.auth = auth
        self.store = store
        self.dsn = dsn
        self.bootstrap = bootstrap
        self.topic = topic
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.checkpoint_interval = checkpoint_interval
        self.published = 0
        self.position: int | None = None  # the last event published, while leading
        self._published = metrics.RELAY_PUBLISHED.labels(store.service)
        self._active = metrics.RELAY_ACTIVE.labels(store.service)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.active = asyncio.Event()  # set while this instance holds the lock and publishes
        self.leading = False  # holds the lock (publishing, or reconnecting to the broker)
        self._partition_of: dict[bytes, int] = {}  # key -> partition, for the current count
        self._partition_count = 0

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"relay:{self.store.schema}:{self.topic}".encode())

    async def run(self) -> None:
        """Run until `stop()`: wait for leadership, then publish, restarting after faults."""
        while not self._stopping.is_set():
            try:
                await self._lead()
            except Exception as exc:
                # Any fault, not a list of the expected ones: a database restart surfaces as
                # asyncpg's InterfaceError (no PostgresError, no OSError), and a relay that died
                # of it would leave every event after it unpublished for good, withdrawals too.
                log.warning("relay.fault", topic=self.topic, error=type(exc).__name__)
                self.active.clear()
                self._active.set(0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1.0)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _lead(self) -> None:
        conn = await connect(self.dsn)
        await init_connection(conn)
        # A checkpoint lost in a crash only republishes what consumers' inboxes absorb: it
        # need not wait for the WAL flush (this connection writes nothing else).
        await conn.execute("SET synchronous_commit = off")
        # This session tails a table that grows under it: a generic plan cached while the
        # table was small would keep scanning all of it (as store/sql/03_append_batch.sql says).
        await conn.execute("SET plan_cache_mode = force_custom_plan")
        try:
            # The session-level advisory lock lives as long as this connection: a crashed
            # relay's lock goes with its connection, and a standby takes over.
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)
                if self._stopping.is_set():
                    return
            self.leading = True
            await conn.add_listener(f"{self.store.schema}_events", self._on_notify)
            self.active.set()
            self._active.set(1)
            producer = producer_for(self.bootstrap, self.auth)
            try:
                await producer.start()  # a start that fails is closed below as well
                await self._publish_loop(conn, producer)
            finally:
                self.active.clear()
                self._active.set(0)
                self.position = None
                await _close(producer)
        finally:
            self.leading = False
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _publish_loop(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        loop = asyncio.get_running_loop()
        # Fault injection (`MEND_FAILPOINT`), read once per leadership, not per batch.
        die_after_ack = MendSettings.load().failpoint == "relay-after-ack"
        position = saved = self.position = await self._checkpoint(conn)
        saved_at = loop.time()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                events = await self.store.read_all(position, self.batch_size, conn=conn)
                if not events:
                    if saved != position:  # caught up: the checkpoint catches up too
                        await self._save_checkpoint(conn, position)
                        saved, saved_at = position, loop.time()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                    continue
                await self._publish(producer, events)  # the broker acked every one of them
                if die_after_ack:
                    # Fault injection: die after the ack, before the checkpoint.
                    os.kill(os.getpid(), signal.SIGKILL)
                position = self.position = events[-1].global_position
                self.published += len(events)
                self._published.inc(len(events))
                # Under steady load the checkpoint moves at most once per interval, not once per
                # publish (a round trip each): a crash republishes at most that much, and the
                # consumers' inboxes absorb it.
                if loop.time() - saved_at >= self.checkpoint_interval:
                    await self._save_checkpoint(conn, position)
                    saved, saved_at = position, loop.time()
        finally:
            if saved != position and not conn.is_closed():
                with contextlib.suppress(OSError, asyncpg.PostgresError):
                    await self._save_checkpoint(conn, position)

    async def _save_checkpoint(self, conn: asyncpg.Connection, position: int) -> None:
        await conn.execute(
            f"INSERT INTO {self.store.schema}.relay_checkpoint (topic, position) "
            f"VALUES ($1, $2) ON CONFLICT (topic) DO UPDATE "
            f"SET position = EXCLUDED.position, updated_at = now()",
            self.topic,
            position,
        )

    async def _publish(self, producer: AIOKafkaProducer, events: list[RecordedEvent]) -> None:
        """Publish `events` and wait for the broker's acks. Messages go in per-partition batches
        (`send_batch`: no future and no partition lookup per message), in event order within
        each partition, which is the order per case; the partition is the one `send` would
        choose (the default partitioner over the key)."""
        partitions = sorted(await producer.partitions_for(self.topic))
        if len(partitions) != self._partition_count:
            self._partition_of.clear()
            self._partition_count = len(partitions)
        open_batches: dict[int, BatchBuilder] = {}
        acks = []
        for event in events:
            key, value, headers = to_message(event)
            partition = self._partition_of.get(key)
            if partition is None:
                if len(self._partition_of) >= 100_000:
                    self._partition_of.clear()
                partition = self._partition_of[key] = _PARTITIONER(key, partitions, partitions)
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                acks.append(await producer.send_batch(batch, self.topic, partition=partition))
                batch = open_batches[partition] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for partition, batch in open_batches.items():
            batch.close()
            acks.append(await producer.send_batch(batch, self.topic, partition=partition))
        await asyncio.gather(*acks)

    async def _checkpoint(self, conn: asyncpg.Connection) -> int:
        value = await conn.fetchval(
            f"SELECT position FROM {self.store.schema}.relay_checkpoint WHERE topic = $1",
            self.topic,
        )
        return int(value or 0)


async def _close(producer: AIOKafkaProducer) -> None:
    """Stop a producer without waiting long on a broker that is away. Whatever it still holds
    was never acknowledged, so the checkpoint is not past it and the next leader resends it."""
    try:
        await asyncio.wait_for(producer.stop(), timeout=5.0)
    except (TimeoutError, KafkaError, OSError) as exc:
        log.warning("relay.producer_abandoned", error=type(exc).__name__)
        with contextlib.suppress(Exception):
            await producer.client.close()


async def _main(argv: list[str] | None = None) -> None:
    """Run one relay as its own process: `python -m mend_events.messaging.relay --schema
    consent`."""
    from mend_events.app.db import create_pool
    from mend_events.app.settings import Settings, events_topic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", required=True)
    parser.add_argument("--service", default=None)
    parser.add_argument("--topic", default=None)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    pool = await create_pool(settings.database_url)
    store = EventStore(pool, args.schema, service=args.service or args.schema)
    relay = Relay(
        store,
        settings.database_url,
        settings.kafka_bootstrap,
        args.topic or events_topic(store.service),
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, relay.stop)
    loop.add_signal_handler(signal.SIGINT, relay.stop)
    try:
        await relay.run()
    finally:
        await pool.close()


if __name__ == "__main__":
    uvloop.run(_main())  # the loop the services run on (mend_events.app.serve)
