"""Shared plumbing for the benchmarks: results, fresh schemas, a bench event."""

from __future__ import annotations

import hashlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from mend_events.app.db import create_pool
from mend_events.app.settings import Settings, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.events import DomainEvent, registry
from mend_events.messaging.topics import PARTITIONS
from mend_events.store import ZERO_HASH, canonical_json, digest_input
from mend_events.store.migrate import migrate_schema


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    ratio: float
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def result(
    name: str,
    value: float,
    unit: str,
    baseline_name: str,
    baseline_value: float,
    *,
    lower_is_better: bool = False,
    note: str = "",
) -> Result:
    if lower_is_better:
        ratio = baseline_value / value if value else 0.0
    else:
        ratio = value / baseline_value if baseline_value else 0.0
    return Result(
        name, round(value, 2), unit, baseline_name, round(baseline_value, 2), round(ratio, 3), note
    )


async def as_admin(settings: Settings, sql: str) -> None:
    """Run `sql` (a bench's own table and its grants) as the admin, on a connection of its own."""
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def latency_results(
    name: str,
    mine: list[float],
    baseline_name: str,
    baseline: list[float],
    *,
    note: str,
    ps: tuple[int, ...] = (50, 99),
) -> list[Result]:
    """Latency percentiles in ms (lower is better) against the baseline's same percentiles;
    `{p}` in either name stands for the percentile."""
    return [
        result(
            name.format(p=p),
            percentile(mine, p),
            "ms",
            baseline_name.format(p=p),
            percentile(baseline, p),
            lower_is_better=True,
            note=note,
        )
        for p in ps
    ]


@registry.register
class BenchNoted(DomainEvent):
    event_type = "BenchNoted"
    n: int
    label: str = "bench"


PAYLOAD_LABEL = "face_to_face;letter;indirect"  # a short code list, like real events carry


def bench_event(n: int) -> NewEvent:
    return NewEvent(uuid.uuid4(), BenchNoted(n=n, label=PAYLOAD_LABEL), bench_meta())


def bench_meta() -> Metadata:
    return Metadata(
        actor_id="prac-bench01",
        role=Role.PRACTITIONER,
        agency="agency-bench",
        correlation_id=uuid.uuid4(),
        causation_id=None,
        occurred_at=datetime.now(UTC),
    )


@asynccontextmanager
async def fresh_schema(settings: Settings, label: str) -> AsyncIterator[str]:
    name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, name, None)
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await conn.close()


def stored_rows(events: int, cases_at_once: int, per_case: int) -> Iterator[tuple]:
    """`events` BenchNoted rows as the store writes them, the hash chain computed per stream for
    real: `cases_at_once` cases of `per_case` events each, interleaved in global order.
    Metadata is bench_meta()'s canonical JSON, from a template for speed."""
    epoch, start = datetime(1970, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    start_us = (start - epoch) // timedelta(microseconds=1)
    data = canonical_json(BenchNoted(n=0, label=PAYLOAD_LABEL).to_data())
    data_text = data.decode()
    template = canonical_json(
        {**bench_meta().to_json(), "correlation_id": "%(c)s", "occurred_at": "%(t)s"}
    ).decode()
    tag = uuid.uuid4().hex[:6]
    heads: dict[str, bytes] = {}
    for i in range(events):
        block, k = divmod(i, cases_at_once * per_case)
        case = f"case-{tag}{block * cases_at_once + k % cases_at_once:07d}"
        version = k // cases_at_once + 1
        event_id = uuid.uuid4()
        recorded_at = start + timedelta(milliseconds=i)
        meta = template % {"c": uuid.uuid4(), "t": recorded_at.isoformat()}
        prev = heads.get(case, ZERO_HASH)
        heads[case] = digest = hashlib.sha256(
            prev
            + digest_input(
                case,
                version,
                event_id,
                "BenchNoted",
                1,
                case,
                data,
                meta.encode(),
                start_us + i * 1000,
            )
        ).digest()
        yield (
            case,
            version,
            event_id,
            "BenchNoted",
            1,
            case,
            data_text,
            meta,
            recorded_at,
            prev,
            digest,
        )


async def copy_events(
    settings: Settings, schema: str, events: int, cases_at_once: int = 1000, per_case: int = 20
) -> None:
    """Fill `schema`.events fast: COPY as admin (global positions from the identity column)."""
    conn = await asyncpg.connect(settings.admin_database_url)
    await conn.copy_records_to_table(
        "events",
        schema_name=schema,
        records=stored_rows(events, cases_at_once, per_case),
        columns=[
            "stream_id",
            "stream_version",
            "event_id",
            "event_type",
            "schema_version",
            "case_id",
            "data",
            "metadata",
            "recorded_at",
            "prev_hash",
            "hash",
        ],
    )
    await conn.execute(f"ANALYZE {schema}.events")
    await conn.close()


@asynccontextmanager
async def fresh_topics(settings: Settings, label: str, n: int) -> AsyncIterator[list[str]]:
    names = [f"bench.{label}.{uuid.uuid4().hex[:8]}" for _ in range(n)]
    admin = AIOKafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in names])
        yield names
    finally:
        await admin.delete_topics(names)
        await admin.close()


async def app_pool(settings: Settings, size: int) -> asyncpg.Pool:
    return await create_pool(settings.database_url, min_size=size, max_size=size)


def machine() -> str:
    """The machine's state beside every figure: load average and CPU count (it is noisy)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}, {os.cpu_count()} CPUs"


async def broker_state(settings: Settings) -> str:
    """How much the broker holds beside what a suite creates: every partition costs the broker's
    heap and every client's metadata, and the latency figures moved with it (bench/RESULTS.md,
    session 12)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    await admin.start()
    try:
        topics = await admin.list_topics()
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = sum(len(t.get("partitions", ())) for t in described)
    return f"broker holds {len(topics)} topics, {partitions} partitions"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.elapsed = time.perf_counter() - self.start


async def page_latencies(client: Any, path: str, cookie: str, n: int) -> list[float]:
    """`n` GETs of a web app's page by one signed-in browser (its session cookie), each in ms;
    every answer must be a 200."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = await client.get(path, cookies={"mend_session": cookie})
        assert r.status_code == 200, (path, r.status_code)
        out.append((time.perf_counter() - start) * 1000)
    return out
