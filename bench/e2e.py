"""End-to-end latency: from CommandService.execute on one service's store to the row written by
an InboxConsumer handler of another schema (Relay -> Kafka -> consumer), under 200 events/s of
background appends. Baseline: a raw aiokafka producer -> consumer on the same broker, measured
the same way (from the send call to the message's arrival) under the same background rate."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from mend_events.app.settings import Settings, kafka_options
from mend_events.commands.decider import CommandContext
from mend_events.commands.service import CommandService
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.consumer import InboxConsumer
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore

from bench.command import ACTOR, COUNTER, Count
from bench.common import (
    Result,
    app_pool,
    as_admin,
    bench_event,
    fresh_schema,
    fresh_topics,
    latency_results,
)

SAMPLES, SAMPLE_RATE = 500, 20  # commands timed, per second
BACKGROUND_RATE = 200  # events/s appended meanwhile, relayed and consumed as well
FETCH_MAX_WAIT_MS = 500  # aiokafka's default, the services' too: a waiting fetch returns on data
REPLICAS = 1  # InboxConsumers in the sink group (a service runs one per subscription)


async def paced(
    rate: float,
    count: int | None,
    fire: Callable[[int], Awaitable[None]],
    stop: asyncio.Event | None = None,
) -> None:
    """Start `fire(i)` on schedule (open loop): a slow one never delays the next."""
    start, tasks, i = time.perf_counter(), set(), 0
    while (count is None or i < count) and not (stop and stop.is_set()):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        task = asyncio.create_task(fire(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    await asyncio.gather(*tasks)


async def sink(settings: Settings, schema: str, topic: str, group: str) -> None:
    """The other service: InboxConsumers whose handler writes a row per event (the database
    stamps it with clock_timestamp()). Runs in its own process until SIGTERM."""
    pool = await app_pool(settings, REPLICAS)

    async def handler(conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await conn.execute(
            f"INSERT INTO {schema}.arrivals (event_id, stream_id) VALUES ($1, $2)",
            event.event_id,
            event.stream_id,
        )

    consumers = [
        InboxConsumer(
            name=group,
            pool=pool,
            schema=schema,
            bootstrap=settings.kafka_bootstrap,
            topics=[topic],
            handler=handler,
            dlq_topic=f"{topic}.dlq",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        for _ in range(REPLICAS)
    ]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    for consumer in consumers:
        await consumer.start()
    await stop.wait()
    for consumer in consumers:
        await consumer.stop()
    await pool.close()


def _sink_process(*args: str) -> None:
    uvloop.run(sink(Settings.from_env(), *args))  # a service's loop, as in mend_events.app.serve


async def ours(settings: Settings, source: str, sink_schema: str, topic: str) -> list[float]:
    child = multiprocessing.get_context("spawn").Process(
        target=_sink_process, args=(sink_schema, topic, f"bench-e2e-{uuid.uuid4().hex[:6]}")
    )
    child.start()
    pool = await app_pool(settings, 4)
    store = EventStore(pool, source, service="benchsrc")
    commands = CommandService(store, COUNTER)
    relay = Relay(store, settings.database_url, settings.kafka_bootstrap, topic)
    relaying = asyncio.create_task(relay.run())
    sent: dict[str, float] = {}

    async def command(stream: str) -> None:
        ctx = CommandContext(ACTOR, datetime.now(UTC), uuid.uuid4())
        sent[stream] = time.time()  # the database's clock_timestamp() reads the same clock
        await commands.execute(stream, Count(1), ctx)

    async def background(i: int) -> None:
        await store.append(f"case-bg{i:07d}", [bench_event(i)], expected_version=0)

    async def arrived() -> dict[str, float]:
        rows = await pool.fetch(
            f"SELECT stream_id, extract(epoch FROM at)::float8 AS at "
            f"FROM {sink_schema}.arrivals WHERE stream_id = ANY($1)",
            list(sent),
        )
        return {r["stream_id"]: r["at"] for r in rows}

    try:
        await _until(lambda: command(f"case-warm{len(sent):05d}"), arrived, 20)
        sent.clear()
        stop = asyncio.Event()
        load = asyncio.create_task(paced(BACKGROUND_RATE, None, background, stop))
        try:
            await paced(SAMPLE_RATE, SAMPLES, lambda i: command(f"case-e2e{i:05d}"))
            at = await _until(None, arrived, SAMPLES, timeout=120)  # a backlog drains
        finally:
            stop.set()
            await load
    finally:
        relay.stop()
        await relaying
        child.terminate()
        child.join(20)
        if child.is_alive():
            child.kill()
        await store.close()
        await pool.close()
    return [(at[s] - t0) * 1000 for s, t0 in sent.items()]


async def raw(
    settings: Settings,
    topic: str,
    *,
    samples: int = SAMPLES,
    rate: float = SAMPLE_RATE,
    warmup: float = 0.0,
) -> list[float]:
    """The raw aiokafka baseline: send_and_wait (idempotent, acks=all, linger 1 ms) to arrival
    at an AIOKafkaConsumer, `samples` at `rate`/s under BACKGROUND_RATE of other messages
    (after `warmup` seconds of that background alone)."""
    producer = AIOKafkaProducer(
        **kafka_options(settings.kafka_bootstrap), enable_idempotence=True, acks="all", linger_ms=1
    )
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(settings.kafka_bootstrap),
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await producer.start()
    await consumer.start()
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    value = bench_event(0).event.model_dump_json().encode()

    async def consume() -> None:
        async for msg in consumer:
            received[msg.key.decode()] = time.time()

    async def send(key: str) -> None:
        sent[key] = time.time()
        await producer.send_and_wait(topic, value, key=key.encode())

    async def arrived() -> dict[str, float]:
        return {k: received[k] for k in sent if k in received}

    consuming = asyncio.create_task(consume())
    try:
        await _until(lambda: send(f"case-warm{len(sent):05d}"), arrived, 20)
        sent.clear()
        stop = asyncio.Event()
        load = asyncio.create_task(paced(BACKGROUND_RATE, None, lambda i: send(f"bg-{i}"), stop))
        try:
            await asyncio.sleep(warmup)
            await paced(rate, samples, lambda i: send(f"case-e2e{i:05d}"))
        finally:
            stop.set()
            await load
        sent = {k: t0 for k, t0 in sent.items() if k.startswith("case-e2e")}
        at = await _until(None, arrived, samples)
    finally:
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await consumer.stop()
        await producer.stop()
    return [(at[k] - t0) * 1000 for k, t0 in sent.items()]


async def _until(
    fire: Callable[[], Awaitable[None]] | None,
    arrived: Callable[[], Awaitable[dict[str, float]]],
    n: int,
    timeout: float = 60.0,
) -> dict[str, float]:
    """Poll until `n` have arrived (firing one more each time, while the consumer joins its
    group); TimeoutError after `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while len(got := await arrived()) < n:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{n - len(got)} of {n} messages never arrived")
        if fire is not None:
            await fire()
        await asyncio.sleep(0.1)
    return got


async def run(settings: Settings) -> list[Result]:
    async with (
        fresh_schema(settings, "e2esrc") as source,
        fresh_schema(settings, "e2esink") as sink,
        fresh_topics(settings, "e2e", 2) as topics,
    ):
        await as_admin(
            settings,
            f"CREATE TABLE {sink}.arrivals (event_id uuid PRIMARY KEY, stream_id text NOT NULL,"
            f" at timestamptz NOT NULL DEFAULT clock_timestamp()); "
            f"GRANT SELECT, INSERT ON {sink}.arrivals TO mend_app",
        )
        base = await raw(settings, topics[0])
        mine = await ours(settings, source, sink, topics[1])
    note = (
        f"{len(mine)} commands open-loop at {SAMPLE_RATE}/s, each on a new stream, timed "
        f"from the execute call to the clock_timestamp() of the row the handler inserts "
        f"(inside the inbox transaction), while {BACKGROUND_RATE} events/s are appended to "
        f"the same store, relayed and consumed too; source (CommandService, Relay) and sink "
        f"({REPLICAS} InboxConsumer, own process) as two services; raw: send_and_wait "
        f"(idempotent, acks=all, linger 1 ms) to arrival at an AIOKafkaConsumer in the same "
        f"process, same rates; fetch_max_wait_ms={FETCH_MAX_WAIT_MS} on both"
    )
    return latency_results(
        "e2e.latency.p{p}", mine, "raw aiokafka produce->consume p{p}", base, note=note, ps=(99, 50)
    )
