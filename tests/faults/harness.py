"""Shared pieces of the fault matrix (`make fault`): a projection that records what it applied
and how often, the replay it must equal, and writers that keep what the store acknowledged.

The oracle of most rows is the same: after the fault and the recovery, the projection a
consumer built from the broker equals the replay of the store (every event once, per case in
version order), and every append the store acknowledged is in it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from uuid import UUID

import asyncpg
from mend_events.store import EventStore
from sample_events import noted

ROOT = Path(__file__).resolve().parents[2]


async def create_projection(admin_conn: asyncpg.Connection, schema: str) -> None:
    """`applied`: one row per event a consumer applied; `times` grows if one applies twice;
    `seq` is the order of application."""
    await admin_conn.execute(
        f"CREATE TABLE {schema}.applied (event_id uuid PRIMARY KEY, case_id text NOT NULL, "
        f"version int NOT NULL, times int NOT NULL DEFAULT 1, seq bigserial)"
    )
    await admin_conn.execute(f"GRANT SELECT, INSERT, UPDATE ON {schema}.applied TO mend_app")
    await admin_conn.execute(f"GRANT USAGE ON SEQUENCE {schema}.applied_seq_seq TO mend_app")


def applying(schema: str):
    """The projection's handler (run in the inbox transaction)."""

    async def apply(conn: asyncpg.Connection, event) -> None:
        await conn.execute(
            f"INSERT INTO {schema}.applied (event_id, case_id, version) VALUES ($1, $2, $3) "
            f"ON CONFLICT (event_id) DO UPDATE SET times = {schema}.applied.times + 1",
            event.event_id,
            event.case_id,
            event.stream_version,
        )

    return apply


async def projected(conn: asyncpg.Connection, schema: str) -> dict[str, list[int]]:
    rows = await conn.fetch(
        f"SELECT case_id, array_agg(version ORDER BY seq) AS v FROM {schema}.applied "
        f"GROUP BY case_id"
    )
    return {r["case_id"]: list(r["v"]) for r in rows}


async def replayed(conn: asyncpg.Connection, schema: str) -> dict[str, list[int]]:
    """What the projection must be: the store's events, per case in global order."""
    rows = await conn.fetch(
        f"SELECT stream_id, array_agg(stream_version ORDER BY global_position) AS v "
        f"FROM {schema}.events GROUP BY stream_id"
    )
    return {r["stream_id"]: list(r["v"]) for r in rows}


async def stored_count(conn: asyncpg.Connection, schema: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {schema}.events")


async def applied_count(conn: asyncpg.Connection, schema: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {schema}.applied")


async def assert_projection_equals_replay(conn: asyncpg.Connection, schema: str) -> None:
    assert await conn.fetchval(f"SELECT coalesce(max(times), 0) FROM {schema}.applied") <= 1, (
        "an event's effect was applied twice"
    )
    projection, replay = await projected(conn, schema), await replayed(conn, schema)
    missing = sorted(set(replay) - set(projection))
    assert not missing, f"cases never projected: {missing[:5]}"
    for case, versions in replay.items():
        assert projection[case] == versions, f"{case}: projected {projection[case]}"
    assert set(projection) == set(replay)


async def assert_acknowledged_consumed(
    conn: asyncpg.Connection, schema: str, acknowledged: set[UUID]
) -> None:
    consumed = {r[0] for r in await conn.fetch(f"SELECT event_id FROM {schema}.applied")}
    lost = acknowledged - consumed
    assert not lost, f"{len(lost)} acknowledged appends never consumed"


class Writers:
    """`cases` writers, each appending one event at a time to its own case until `stop()`.
    An append that fails (the database away) is retried with the same event id, which the
    store recognises; only an append that returned counts as acknowledged."""

    def __init__(self, store: EventStore, cases: int, tag: str, pause: float = 0.02) -> None:
        self.store, self.pause = store, pause
        self.cases = [f"case-{tag}{i:04d}x" for i in range(cases)]
        self.acknowledged: set[UUID] = set()
        self.failures = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write(case)) for case in self.cases]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def until(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} appends"
            await asyncio.sleep(0.05)

    async def _write(self, case: str) -> None:
        version = 0
        while not self._stop.is_set():
            event = noted(version)
            while True:
                try:
                    await self.store.append(case, [event], expected_version=version)
                    break
                except Exception:  # the database away: the same event again, later
                    self.failures += 1
                    await asyncio.sleep(0.2)
            self.acknowledged.add(event.event_id)
            version += 1
            await asyncio.sleep(self.pause)


def child_env(platform) -> dict[str, str]:
    """The environment of a crasher process: this session's platform and its Python path."""
    path = os.pathsep.join([str(ROOT), str(ROOT / "libs" / "events" / "tests")])
    return {
        **os.environ,
        "PYTHONPATH": f"{path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "MEND_DATABASE_URL": platform.database_url,
        "MEND_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
    }


async def crasher(platform, *args: str) -> asyncio.subprocess.Process:
    """`tests/faults/crasher.py` in its own process (see there)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "faults" / "crasher.py"), *args,
        env=child_env(platform), cwd=ROOT,
    )  # fmt: skip


async def died_of_sigkill(proc: asyncio.subprocess.Process, timeout: float) -> None:
    try:
        code = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise AssertionError("the crasher never reached its crash point") from None
    assert code == -9, f"the crasher exited with {code}, not by SIGKILL"
