"""Shared plumbing for the benchmarks: results, fresh schemas, a bench event."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import asyncpg
from mend_events.contracts import DomainEvent, registry
from mend_events.db import create_pool
from mend_events.envelope import Metadata, NewEvent
from mend_events.identity_types import Role
from mend_events.migrate import migrate_schema
from mend_events.settings import Settings


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


def result(name: str, value: float, unit: str, baseline_name: str, baseline_value: float,
           *, lower_is_better: bool = False, note: str = "") -> Result:
    if lower_is_better:
        ratio = baseline_value / value if value else 0.0
    else:
        ratio = value / baseline_value if baseline_value else 0.0
    return Result(name, round(value, 2), unit, baseline_name, round(baseline_value, 2),
                  round(ratio, 3), note)


@registry.register
class BenchNoted(DomainEvent):
    event_type = "BenchNoted"
    n: int
    label: str = "bench"


PAYLOAD_LABEL = "face_to_face;letter;indirect"  # a short code list, like real events carry


def bench_event(n: int) -> NewEvent:
    return NewEvent(uuid.uuid4(), BenchNoted(n=n, label=PAYLOAD_LABEL), bench_meta())


def bench_meta() -> Metadata:
    return Metadata(actor_id="prac-bench01", role=Role.PRACTITIONER, agency="agency-bench",
                    correlation_id=uuid.uuid4(), causation_id=None,
                    occurred_at=datetime.now(UTC))


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


async def app_pool(settings: Settings, size: int) -> asyncpg.Pool:
    return await create_pool(settings.database_url, min_size=size, max_size=size)


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
