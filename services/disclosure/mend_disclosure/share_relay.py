"""The share relay: publishes the outbox to the partners' topics `mend.share.v1.<agency>`, in
outbox order, and deletes each row only after the broker acknowledged it (a crash between the
two republishes it: partners de-duplicate by the CloudEvent id, which is stable). Rows are
taken with FOR UPDATE SKIP LOCKED in one transaction per batch, so two instances never send
the same row at once. Only the disclosure principal may write these topics (acls.py)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from mend_events.app.settings import KafkaAuth, share_topic
from mend_events.messaging.relay import producer_for
from mend_events.messaging.topics import ensure_named

log = structlog.get_logger("mend.disclosure.relay")


class ShareRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        bootstrap: str,
        auth: KafkaAuth | None,
        *,
        topic_prefix: str = "",
        batch: int = 500,
    ) -> None:
        self.pool, self.schema, self.bootstrap, self.auth = pool, schema, bootstrap, auth
        self.prefix, self.batch = topic_prefix, batch
        self.published = 0
        self._producer: AIOKafkaProducer | None = None
        self._topics: set[str] = set()

    async def _ensure(self, topic: str) -> None:
        if topic not in self._topics:
            # A partner's topic is made on its first message, in production too: the gateway
            # alone may create share topics (acls.sharing_bindings), and the partner list grows.
            await ensure_named(self.bootstrap, [topic], auth=self.auth, create=True)
            self._topics.add(topic)

    async def pass_once(self) -> int:
        if self._producer is None:
            producer = producer_for(self.bootstrap, self.auth)
            await producer.start()
            self._producer = producer
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT position, agency, message_key, payload FROM {self.schema}.share_outbox "
                f"ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            if not rows:
                return 0
            sent = []
            for r in rows:
                topic = share_topic(r["agency"], self.prefix)
                await self._ensure(topic)
                sent.append(
                    await self._producer.send(
                        topic, bytes(r["payload"]), key=r["message_key"].encode()
                    )
                )
            await asyncio.gather(*sent)  # every ack before any row goes
            await conn.execute(
                f"DELETE FROM {self.schema}.share_outbox WHERE position = ANY($1::bigint[])",
                [r["position"] for r in rows],
            )
        self.published += len(rows)
        return len(rows)

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
