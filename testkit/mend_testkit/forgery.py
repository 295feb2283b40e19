"""What an attacker (or a bug) does to the record, for the tests that show it is caught: a row
changed by a superuser, an event on the bus that no store holds, a relay checkpoint that claims
more than Kafka has. Also `publish_all`, the honest relays run to the end, to compare against."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from mend_events.app.settings import (
    FROM_ENV,
    SERVICES,
    KafkaAuth,
    Settings,
    events_topic,
    kafka_options,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay

from mend_testkit.samples import delivered


async def as_superuser(settings: Settings, sql: str, *args: Any) -> None:
    """Run `sql` as the admin with triggers off: a change the immutability trigger forbids."""
    admin = await asyncpg.connect(settings.admin_database_url)
    try:
        async with admin.transaction():
            await admin.execute("SET LOCAL session_replication_role = replica")
            await admin.execute(sql, *args)
    finally:
        await admin.close()


def forged_withdrawal(
    case_id: str, participant_id: str, service: str, *, position: int = 1, version: int = 1
) -> RecordedEvent:
    """A well-formed withdrawal of every grant that no store holds: what a forger publishes."""
    data = {"participant_id": participant_id}
    return delivered(
        service,
        case_id,
        "ConsentWithdrawn",
        data,
        actor=participant_id,
        position=position,
        version=version,
    )


async def publish_forged(
    bootstrap: str,
    topic: str,
    event: RecordedEvent,
    auth: KafkaAuth | None = FROM_ENV,
    **producer_options: Any,
) -> None:
    """Put `event` straight onto `topic`, past every store (as the principal `auth`)."""
    producer = AIOKafkaProducer(**kafka_options(bootstrap, auth), **producer_options)
    await asyncio.wait_for(producer.start(), 20)
    try:
        key, value, headers = to_message(event)
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def claim_published(pool: asyncpg.Pool, schema: str, topic: str) -> None:
    """Set a relay checkpoint past everything stored, as if all of it were on `topic`."""
    async with pool.acquire() as conn:
        await conn.execute(
            f"INSERT INTO {schema}.relay_checkpoint (topic, position) "
            f"SELECT $1, max(global_position) FROM {schema}.events",
            topic,
        )


async def _until(predicate: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s")
        await asyncio.sleep(0.05)


async def publish_all(
    settings: Settings, writer: Any, prefix: str, services: Iterable[str] = SERVICES
) -> None:
    """Run each service's relay (of a `CaseWriter`'s stores) until it has published everything
    stored, then stop it."""
    relays = [
        Relay(
            writer.stores[s],
            settings.database_url,
            settings.kafka_bootstrap,
            events_topic(s, prefix),
            poll_interval=0.05,
        )
        for s in services
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:

        async def caught_up() -> bool:
            heads = [await r.store.head_position() for r in relays]
            async with relays[0].store.pool.acquire() as conn:
                done = [
                    await conn.fetchval(
                        f"SELECT coalesce(max(position), 0) FROM {r.store.schema}.relay_checkpoint"
                    )
                    for r in relays
                ]
            return heads == done

        await _until(caught_up)
    finally:
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)
