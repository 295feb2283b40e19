"""Create each service's topics up front: `<service>.events.v1` and `<service>.dlq`.

Partitions are fixed at creation (the key is the case id, so a case's events stay in order on
one partition); retention is infinite (PostgreSQL stays the system of record, but a consumer
joining late can still read the whole history). Partitions, replication and
`min.insync.replicas` come from `MEND_TOPIC_PARTITIONS`, `MEND_TOPIC_REPLICATION` and
`MEND_TOPIC_MIN_INSYNC` (6, 1, 1 on the local single broker; a production cluster wants 12, 3,
2). The deployment creates them, `python -m mend_events.messaging.topics consent ...`; in
production a service refuses to start on a missing topic rather than create one itself with
whatever it would guess (`TopicsMissing`)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mend_events.app.config import MendSettings
from mend_events.app.settings import (
    FROM_ENV,
    KafkaAuth,
    Settings,
    dlq_topic,
    events_topic,
    is_production,
    kafka_options,
)

PARTITIONS = 6
CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


class TopicsMissing(RuntimeError):
    """Topics a production service needs and the deployment did not create (names only)."""


@dataclass(frozen=True)
class TopicSettings:
    partitions: int = PARTITIONS
    replication: int = 1
    min_insync: int = 1

    @classmethod
    def from_env(cls, config: MendSettings | None = None) -> TopicSettings:
        """`MEND_TOPIC_PARTITIONS`, `_REPLICATION`, `_MIN_INSYNC` (validated by `MendSettings`:
        whole numbers of at least 1, min.insync no more than the replication)."""
        config = config or MendSettings.load()
        return cls(config.topic_partitions, config.topic_replication, config.topic_min_insync)


async def ensure_topics(
    bootstrap: str,
    services: list[str],
    *,
    prefix: str = "",
    auth: KafkaAuth | None = FROM_ENV,
) -> list[str]:
    """Create what is missing of `services`' topics (events and dead letters)."""
    wanted = [t for s in services for t in (events_topic(s, prefix), dlq_topic(s, prefix))]
    return await ensure_named(bootstrap, wanted, auth=auth)


async def ensure_named(
    bootstrap: str,
    wanted: list[str],
    *,
    auth: KafkaAuth | None = FROM_ENV,
    create: bool | None = None,
    settings: TopicSettings | None = None,
) -> list[str]:
    """Create those of `wanted` that do not exist (with `settings`, from the environment by
    default), or, with `create` False (the default in production), refuse with `TopicsMissing`.
    A principal sees only the topics it may describe, so a service asks only for its own topics
    and those it reads."""
    create = not is_production() if create is None else create
    config = settings or TopicSettings.from_env()
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, auth))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing and not create:
            raise TopicsMissing(
                f"topics missing: {', '.join(missing)}; the deployment creates them "
                f"(python -m mend_events.messaging.topics <services>)"
            )
        if missing:
            topic_config = {**CONFIG, "min.insync.replicas": str(config.min_insync)}
            await admin.create_topics(
                [
                    NewTopic(
                        t,
                        num_partitions=config.partitions,
                        replication_factor=config.replication,
                        topic_configs=topic_config,
                    )
                    for t in missing
                ]
            )
            await _until_described(admin, missing)
        return missing
    finally:
        await admin.close()


async def _until_described(
    admin: AIOKafkaAdminClient, topics: list[str], within: float = 10.0
) -> None:
    """Creation is acknowledged before every broker's metadata holds the new topics: a client
    that produces or describes at once may see none of their partitions. Wait (a while) until
    all show theirs; past that, go on: the creation itself succeeded, and clients retry."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(topics)
        if all(d.get("partitions") for d in described):
            return
        await asyncio.sleep(0.1)


if __name__ == "__main__":  # the deployment's step: it creates, in production too
    bootstrap = Settings.from_env().kafka_bootstrap
    wanted = [t for s in sys.argv[1:] for t in (events_topic(s), dlq_topic(s))]
    created = asyncio.run(ensure_named(bootstrap, wanted, create=True))
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
