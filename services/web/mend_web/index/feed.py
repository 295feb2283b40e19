"""The case index's subscription: the platform's inbox consumer (exactly-once effect, offsets
committed only after the rows) on the five services' topics, as the web app's own read-only
principal (no producer, so no dead-letter topic: what cannot be applied is logged and skipped,
as the publishing service's own consumers dead-letter it). Declared like a service's reactions
(`Consumes`), so the subscription is the declaration."""

from __future__ import annotations

import asyncpg
from mend_events.app.settings import Settings, dlq_topic, events_topic
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.consumer import InboxConsumer
from mend_events.messaging.reactions import Consumes

from mend_web.index import model
from mend_web.index.tables import CaseIndex

PRINCIPAL = "web"


class IndexFeed:
    """The handler of the `index` subscription (consumer group `<prefix>web.index`)."""

    CONSUMES = (Consumes("index", **model.TYPES),)

    def __init__(self, schema: str) -> None:
        self.projection = CaseIndex(schema)

    async def on_index(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if self.CONSUMES[0].takes(event):
            await self.projection.on_event(conn, event)


async def index_consumer(
    pool: asyncpg.Pool, schema: str, settings: Settings, topic_prefix: str = ""
) -> InboxConsumer:
    """The consumer that keeps the index in `schema` (started and stopped by the app): the
    group of the index's current generation (a rebuild starts a new one, from the start)."""
    feed = IndexFeed(schema)
    (declared,) = feed.CONSUMES
    generation = await pool.fetchval(f"SELECT generation FROM {schema}.case_index_generation")
    return InboxConsumer(
        name=f"{topic_prefix}{PRINCIPAL}.{declared.name}.g{generation}",
        pool=pool,
        schema=schema,
        bootstrap=settings.kafka_bootstrap,
        topics=[events_topic(s, topic_prefix) for s in declared.sources],
        handler=feed.on_index,
        dlq_topic=dlq_topic(PRINCIPAL, topic_prefix),  # never written: read_only
        auth=settings.kafka_auth,
        read_only=True,
    )


async def rebuild(conn: asyncpg.Connection, schema: str) -> int:
    """Empty the index and move to the next generation, in one transaction: the app's next
    consumer replays every topic into it. Returns the new generation. Run with the web app
    stopped (or restart it after): a running consumer keeps its old group until then."""
    async with conn.transaction():
        await IndexFeed(schema).projection.reset(conn)
        return await conn.fetchval(
            f"UPDATE {schema}.case_index_generation SET generation = generation + 1 "
            f"RETURNING generation"
        )
