"""Command throughput (load stream, decide, append) with our CommandService on a counter decider,
against the `eventsourcing` library doing the same on the same PostgreSQL: an Aggregate with an
event-triggering method, `app.repository.get` + `app.save` per command."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from mend_events.app.settings import Settings
from mend_events.commands.decider import CommandContext, Decider
from mend_events.commands.service import CommandService
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.events import DomainEvent, registry
from mend_events.store import EventStore

from bench.common import Result, Timer, app_pool, fresh_schema, result

WRITERS = 16
PER_STREAM = 250  # commands per writer; each writer owns one stream
POOL = 16  # connections on each side


# --- our side: a pure counter decider ------------------------------------------------------


@registry.register
class BenchCounted(DomainEvent):
    event_type = "BenchCounted"
    by: int
    total: int


@dataclass(frozen=True)
class Count:
    by: int = 1


def _decide(state: int, command: Count, ctx: CommandContext) -> list[DomainEvent]:
    return [BenchCounted(by=command.by, total=state + command.by)]


def _evolve(state: int, e: DomainEvent, meta: object) -> int:
    return e.total if isinstance(e, BenchCounted) else state


COUNTER = Decider(initial=lambda stream_id: 0, evolve=_evolve, decide=_decide)
ACTOR = Actor(id="prac-bench01", role=Role.PRACTITIONER, agency="agency-bench")


async def ours(settings: Settings, schema: str) -> float:
    pool = await app_pool(settings, POOL)
    store = EventStore(pool, schema)
    service = CommandService(store, COUNTER)

    async def writer(w: int) -> None:
        stream = f"case-cmd{w:04d}"
        for _ in range(PER_STREAM):
            ctx = CommandContext(ACTOR, datetime.now(UTC), uuid.uuid4())
            await service.execute(stream, Count(1), ctx)

    with Timer() as t:
        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    assert (await service.load("case-cmd0000"))[0] == PER_STREAM
    await store.close()
    await pool.close()
    return WRITERS * PER_STREAM / t.elapsed


# --- their side: the eventsourcing library, synchronous, one thread per writer --------------


class Counter(Aggregate):
    def __init__(self) -> None:
        self.total = 0

    @event("Counted")
    def count(self, by: int) -> None:
        self.total += by


def theirs(env: dict[str, str]) -> float:
    app = Application(env=env)

    def writer(_: int) -> None:
        counter = Counter()  # the first command creates the aggregate
        app.save(counter)
        for _ in range(PER_STREAM - 1):
            counter = app.repository.get(counter.id)
            counter.count(by=1)
            app.save(counter)

    with Timer() as t, ThreadPoolExecutor(WRITERS) as threads:
        list(threads.map(writer, range(WRITERS)))
    app.close()
    return WRITERS * PER_STREAM / t.elapsed


async def run(settings: Settings) -> list[Result]:
    async with fresh_schema(settings, "command") as schema:
        mine = await ours(settings, schema)
    es_schema = f"bench_es_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(settings.admin_database_url)
    await admin.execute(f"CREATE SCHEMA {es_schema}")
    try:
        base = await asyncio.to_thread(theirs, _es_env(settings, es_schema))
    finally:
        await admin.execute(f"DROP SCHEMA {es_schema} CASCADE")
        await admin.close()
    note = (
        f"{WRITERS} writers x {PER_STREAM} commands, one stream each; ours: asyncio tasks, "
        f"CommandService.execute (state cache + read_stream of newer events, decide, group-"
        f"commit append), pool {POOL}; eventsourcing 9.5.6: {WRITERS} threads, "
        f"repository.get + Aggregate method + app.save, postgres pool {POOL}, aggregate "
        f"cache with fast-forward (the same cache-then-catch-up load as ours), "
        f"POSTGRES_ENABLE_DB_FUNCTIONS=y (its faster insert path)"
    )
    return [
        result(
            "command.throughput",
            mine,
            "events/s",
            f"eventsourcing x{WRITERS} threads",
            base,
            note=note,
        )
    ]


def _es_env(settings: Settings, schema: str) -> dict[str, str]:
    from urllib.parse import urlparse

    u = urlparse(settings.admin_database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": u.path.lstrip("/"),
        "POSTGRES_HOST": u.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(u.port or 5432),
        "POSTGRES_USER": u.username or "",
        "POSTGRES_PASSWORD": u.password or "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(POOL),
        "CREATE_TABLE": "y",
        "AGGREGATE_CACHE_MAXSIZE": "1000",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",  # its faster insert path: one call per save
    }
