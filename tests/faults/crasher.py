"""A relay or a consumer in its own process that kills itself with SIGKILL at a chosen point
(the fault matrix's rows b and c). The point is reached by the production code's own path: the
subclass only counts and, at the n-th time, sends SIGKILL to its process, exactly as a crash
there would leave things (nothing after it runs: no checkpoint, no offset commit, no close).

    crasher.py relay    --schema S --topic T --after N   # after the broker acked batch N
    crasher.py consumer --schema S --topic T --group G --dlq D --after N
        # after the inbox commit of batch N, before its offsets are committed
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from mend_events.app.db import create_pool
from mend_events.app.settings import Settings
from mend_events.messaging.consumer import InboxConsumer
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore

from tests.faults.harness import applying


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class CrashingRelay(Relay):
    after = 1

    async def _publish(self, producer: Any, events: list[Any]) -> None:
        await super()._publish(producer, events)  # every event of the batch acknowledged
        self.after -= 1
        if self.after <= 0:
            crash()  # before `_publish_loop` moves the position and saves the checkpoint


class CrashingConsumer(InboxConsumer):
    after = 1

    async def _process_batch(self, records: tuple[Any, ...], settled: set[Any]) -> None:
        await super()._process_batch(records, settled)  # inbox rows and effects committed
        self.after -= 1
        if self.after <= 0:
            crash()  # before `_on_batch` hands these offsets to the commit task


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consumer"])
    parser.add_argument("--schema", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", default="")
    parser.add_argument("--dlq", default="")
    parser.add_argument("--after", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env()
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    store = EventStore(pool, args.schema, service="sample")
    if args.role == "relay":
        relay = CrashingRelay(store, settings.database_url, settings.kafka_bootstrap, args.topic)
        relay.after = args.after
        await relay.run()
        return
    consumer = CrashingConsumer(
        name=args.group,
        pool=pool,
        schema=args.schema,
        bootstrap=settings.kafka_bootstrap,
        topics=[args.topic],
        handler=applying(args.schema),
        dlq_topic=args.dlq,
        max_batch=50,
    )
    consumer.after = args.after
    await consumer.start()
    await asyncio.Event().wait()  # until the crash


if __name__ == "__main__":
    asyncio.run(main())
