"""Create each service's topics up front: `<service>.events.v1` and `<service>.dlq`.

Partitions are fixed at creation (the key is the case id, so a case's events stay in order on
one partition); retention is infinite (PostgreSQL stays the system of record, but a consumer
joining late can still read the whole history). `python -m mend_events.messaging.topics consent
...`"""

from __future__ import annotations

import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mend_events.app.settings import (
    FROM_ENV,
    KafkaAuth,
    Settings,
    dlq_topic,
    events_topic,
    kafka_options,
)

PARTITIONS = 6
CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


async def ensure_topics(
    bootstrap: str,
    services: list[str],
    *,
    prefix: str = "",
    replication: int = 1,
    auth: KafkaAuth | None = FROM_ENV,
) -> list[str]:
    """Create what is missing of `services`' topics (events and dead letters)."""
    wanted = [t for s in services for t in (events_topic(s, prefix), dlq_topic(s, prefix))]
    return await ensure_named(bootstrap, wanted, replication=replication, auth=auth)


async def ensure_named(
    bootstrap: str,
    wanted: list[str],
    *,
    replication: int = 1,
    auth: KafkaAuth | None = FROM_ENV,
) -> list[str]:
    """Create those of `wanted` that do not exist. A principal sees only the topics it may
    describe, so a service asks only for its own topics and those it reads."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, auth))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        t,
                        num_partitions=PARTITIONS,
                        replication_factor=replication,
                        topic_configs=CONFIG,
                    )
                    for t in missing
                ]
            )
        return missing
    finally:
        await admin.close()


if __name__ == "__main__":
    created = asyncio.run(ensure_topics(Settings.from_env().kafka_bootstrap, sys.argv[1:]))
    print(f"topics created: {', '.join(created) or 'none (all exist)'}")


async def delete_topics(
    bootstrap: str, prefix: str, auth: KafkaAuth | None = FROM_ENV
) -> list[str]:
    """Delete every topic whose name starts with `prefix` (tests clean up after themselves:
    a broker holding thousands of partitions restarts slowly)."""
    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, auth))
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()
