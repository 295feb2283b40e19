"""A service's moving parts in one place: pool, store, relay, consumers, projection runners.
Each service's app.py builds one; tests build one per test with their own schema and topics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI

from mend_events import metrics
from mend_events.app.db import create_pool
from mend_events.app.settings import Settings, dlq_topic, events_topic
from mend_events.messaging.consumer import InboxConsumer
from mend_events.messaging.inbox import Handler, PositionHook
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import ensure_named
from mend_events.security import erasure
from mend_events.security.crypto import AgencyKeys, FieldSealer, PgKeyStore
from mend_events.security.trust import TrustView
from mend_events.store import EventStore
from mend_events.store.projection import Projection, ProjectionRunner

log = structlog.get_logger("mend.runtime")


@dataclass
class ServiceRuntime:
    service: str
    settings: Settings
    schema: str
    topic_prefix: str = ""
    relay_enabled: bool = True
    pool: asyncpg.Pool | None = None  # requests and projections
    store_pool: asyncpg.Pool | None = None  # the store's own reads and appends, data keys
    reaction_pool: asyncpg.Pool | None = None  # the consumers' inbox transactions
    store: EventStore | None = None
    sealer: FieldSealer | None = None
    trust: TrustView | None = None  # the hub's trust model as this process sees it now
    relay: Relay | None = None
    consumers: list[InboxConsumer] = field(default_factory=list)
    runners: list[ProjectionRunner] = field(default_factory=list)
    _subscriptions: list[tuple[str, list[str], Handler, PositionHook | None]] = field(
        default_factory=list
    )
    _projections: list[Projection] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _on_start: list[Callable[[ServiceRuntime], Awaitable[None]]] = field(default_factory=list)
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    started: bool = False  # every part started (the startup probe)
    # Seconds the lifespan's stop may take (serve.run: half of MEND_SHUTDOWN_GRACE_SECONDS):
    # past it the process exits anyway, before the orchestrator's SIGKILL; whatever was not
    # committed then is redelivered to the next member and absorbed by the inbox.
    stop_within: float = 10.0
    heartbeat: metrics.Heartbeat = field(default_factory=metrics.Heartbeat)

    @property
    def topic(self) -> str:
        return events_topic(self.service, self.topic_prefix)

    def topic_of(self, service: str) -> str:
        return events_topic(service, self.topic_prefix)

    def subscribe(
        self,
        name: str,
        services: list[str],
        handler: Handler,
        *,
        on_position: PositionHook | None = None,
    ) -> None:
        """Consume other services' events with `handler` (group = `<service>.<name>`);
        `on_position` records each applied message's offset in the same transaction."""
        topics = [self.topic_of(s) for s in services]
        if erasure.OWNER in services and self.service != erasure.OWNER:
            # Erasure requests travel on the owner's topic: this service destroys its own keys
            # of the person in the same inbox transaction, before its handler sees the event.
            handler = erasure.shredding(handler, self.schema)
        self._subscriptions.append((name, topics, handler, on_position))

    def group_of(self, name: str) -> str:
        """The consumer group (and inbox consumer name) of subscription `name`."""
        return f"{self.topic_prefix}{self.service}.{name}"

    def project(self, projection: Projection) -> None:
        self._projections.append(projection)

    def on_start(self, hook: Callable[[ServiceRuntime], Awaitable[None]]) -> None:
        self._on_start.append(hook)

    def track(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run background work for the runtime's lifetime; cancelled on stop."""
        task = asyncio.create_task(work)
        self._background.append(task)
        return task

    async def start(self) -> None:
        # Three pools, so that no caller waits on a pool whose connections are held by callers
        # that wait on it in turn (a burst of requests once took all 20 and waited for a
        # 21st for ever): `pool` serves requests, each holding at most one; `store_pool`
        # serves the store's statements (and data keys), whose connections are never held
        # while waiting for anything else; `reaction_pool` lets reactions to withdrawals,
        # halts and flags run however many requests queue (R2). Every acquire is bounded.
        url = self.settings.database_url
        self.pool = await create_pool(url, min_size=2, max_size=20)
        self.store_pool = await create_pool(url, min_size=1, max_size=6, acquire_timeout=10.0)
        self.reaction_pool = await create_pool(url, min_size=1, max_size=4)
        self.sealer = FieldSealer(PgKeyStore(self.store_pool, self.schema), AgencyKeys.from_env())
        self.store = EventStore(
            self.pool,
            self.schema,
            service=self.service,
            sealer=self.sealer,
            io_pool=self.store_pool,
        )
        # Before anything serves a request: every request is admitted by it.
        self.trust = TrustView(self.pool, self.schema, url)
        await self.trust.start()
        for projection in self._projections:
            runner = ProjectionRunner(self.store, projection)
            await runner.catch_up()
            self.runners.append(runner)
            name = f"projection:{projection.name}"
            self._tasks.append(asyncio.create_task(runner.run(), name=name))
        if self.relay_enabled:
            self.relay = Relay(
                self.store,
                self.settings.database_url,
                self.settings.kafka_bootstrap,
                self.topic,
                auth=self.settings.kafka_auth,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        if self._subscriptions:
            # Topics exist before anyone subscribes: a consumer that subscribed to a missing
            # topic would only see it at its next metadata refresh, minutes later.
            consumed = {t for _, topics, _, _ in self._subscriptions for t in topics}
            await ensure_named(
                self.settings.kafka_bootstrap,
                [self.topic, dlq_topic(self.service, self.topic_prefix), *sorted(consumed)],
                auth=self.settings.kafka_auth,
            )
        for name, topics, handler, on_position in self._subscriptions:
            consumer = InboxConsumer(
                name=self.group_of(name),
                pool=self.reaction_pool,
                schema=self.schema,
                bootstrap=self.settings.kafka_bootstrap,
                topics=topics,
                handler=handler,
                dlq_topic=dlq_topic(self.service, self.topic_prefix),
                on_position=on_position,
                auth=self.settings.kafka_auth,
            )
            await consumer.start()
            self.consumers.append(consumer)
        for hook in self._on_start:
            await hook(self)
        self.track(self.heartbeat.run())
        self.track(self._sampler().run())
        self.started = True

    def _sampler(self) -> metrics.Sampler:
        """The gauges that need a query: the relay's backlog and each projection's lag."""
        sampler = metrics.Sampler()
        store = self.store
        assert store is not None
        backlog = metrics.RELAY_BACKLOG.labels(self.service)
        backlog_age = metrics.RELAY_BACKLOG_AGE.labels(self.service)

        async def relay() -> None:
            relay = self.relay
            if relay is None or relay.position is None:  # not leading here: another's figure
                return
            waiting = await store.read_all(relay.position, 1)
            head = await store.head_position()
            backlog.set(max(0, head - relay.position))
            age = (datetime.now(UTC) - waiting[0].recorded_at).total_seconds() if waiting else 0
            backlog_age.set(max(0.0, age))

        async def projections() -> None:
            head = await store.head_position()
            for runner in self.runners:
                lag = max(0, head - await runner.position())
                metrics.PROJECTION_LAG.labels(self.service, runner.projection.name).set(lag)

        sampler.add("relay", relay)
        sampler.add("projections", projections)
        return sampler

    async def ready(self) -> dict[str, bool]:
        """What readiness checks, part by part: the database answers, the relay and every
        projection runner still run (a loop that died would leave events unpublished or read
        models frozen), every consumer is started, the broker answers."""
        checks = {"started": self.started}
        try:
            assert self.pool is not None
            async with self.pool.acquire(timeout=2.0) as conn:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=2.0)
            checks["database"] = True
        except Exception:
            checks["database"] = False
        if self.relay_enabled:
            checks["relay"] = any(t.get_name() == "relay" and not t.done() for t in self._tasks)
        projections = [t for t in self._tasks if t.get_name().startswith("projection:")]
        checks["projections"] = all(not t.done() for t in projections)
        checks["consumers"] = all(c.running for c in self.consumers)
        if self.consumers:
            checks["broker"] = await self.consumers[0].reachable(2.0)
        elif self.relay is not None and self.relay.leading:
            checks["broker"] = self.relay.active.is_set()
        return checks

    async def settle(self) -> None:
        """Bring every projection up to the store's head now (tests, demos, rebuild tools)."""
        for runner in self.runners:
            await runner.catch_up()

    def wake_projections(self) -> None:
        for runner in self.runners:
            runner.wake()

    async def stop(self) -> None:
        self.started = False
        for task in self._background:
            task.cancel()
        for consumer in self.consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if self.relay is not None:
            self.relay.stop()
        for runner in self.runners:
            runner.stop()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)
        if self.trust is not None:
            await self.trust.stop()
        if self.store is not None:
            await self.store.close()
        for pool in (self.reaction_pool, self.store_pool, self.pool):
            if pool is not None:
                await pool.close()

    def lifespan(self) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
        @contextlib.asynccontextmanager
        async def run(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                try:
                    await asyncio.wait_for(self.stop(), self.stop_within)
                except TimeoutError:
                    log.warning("runtime.stop_overran", seconds=self.stop_within)

        return run
