"""The event store against the real PostgreSQL: what only it does (group commit across
writers, tailing readers, privileges, plans). What every store does: store_contract.py."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest
from mend_events.app.db import init_connection
from mend_events.errors import Conflict
from mend_events.store import EventStore, chain, verify_chain, writer
from sample_events import noted


@pytest.fixture
async def store(app_pool, schema):
    s = EventStore(app_pool, schema)
    yield s
    await s.close()


async def test_stale_expected_version_across_processes_is_a_conflict(app_pool, schema):
    a, b = EventStore(app_pool, schema), EventStore(app_pool, schema)
    await a.append("case-bbbb1", [noted(0)], expected_version=0)
    with pytest.raises(Conflict):
        await b.append("case-bbbb1", [noted(1)], expected_version=0)


async def test_two_writers_never_interleave_and_tailing_reader_never_skips(store, app_pool, schema):
    """Two writers append 1,000 events each to their own streams while a reader tails by
    position: each batch is contiguous in global order and the reader sees every event once."""
    per_writer, batch = 1000, 10
    seen: list[int] = []
    done = asyncio.Event()

    async def writer(stream: str) -> None:
        w = EventStore(app_pool, schema)  # separate group-commit queues: two real writers
        version = 0
        for start in range(0, per_writer, batch):
            await w.append(
                stream, [noted(start + i) for i in range(batch)], expected_version=version
            )
            version += batch

    async def reader() -> None:
        position = 0
        while True:
            finished = done.is_set()
            events = await store.read_all(position, limit=500)
            for e in events:
                assert e.global_position > position
                seen.append(e.global_position)
                position = e.global_position
            if finished and not events:
                return
            await asyncio.sleep(0)

    tail = asyncio.create_task(reader())
    await asyncio.gather(writer("case-w1aaa"), writer("case-w2aaa"))
    done.set()
    await tail
    assert len(seen) == 2 * per_writer == len(set(seen))
    events = await store.read_all(0, limit=5000)
    # No interleaving inside a transaction: each append's 10 events are contiguous.
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        assert len({e.stream_id for e in chunk}) == 1
        assert [e.global_position for e in chunk] == list(
            range(chunk[0].global_position, chunk[0].global_position + batch)
        )


class _OneConnection:
    """Stands in for a pool: every acquire yields the same connection (inside a transaction)."""

    def __init__(self, conn) -> None:
        self.conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self):
        yield self.conn


async def test_reader_waits_for_slow_earlier_transaction(store, platform, schema):
    """A transaction that started earlier commits later: under the lock, a later writer waits,
    so positions follow commit order and a reader that saw the later event saw the earlier."""
    slow = await asyncpg.connect(platform.database_url)
    try:
        await init_connection(slow)
        tx = slow.transaction()
        await tx.start()
        await EventStore(_OneConnection(slow), schema).append(
            "case-slow1", [noted(1)], expected_version=0
        )
        fast = asyncio.create_task(store.append("case-fast1", [noted(2)], expected_version=0))
        await asyncio.sleep(0.3)
        assert not fast.done(), "a later append must wait for the earlier transaction"
        assert await store.read_all(0) == []  # nothing visible yet: nothing can be skipped
        await tx.commit()
        await fast
        events = await store.read_all(0)
        assert [e.stream_id for e in events] == ["case-slow1", "case-fast1"]
    finally:
        await slow.close()


async def test_stale_head_cache_is_refreshed_not_a_conflict(app_pool, schema):
    """Another process appended: this one's cached head is stale, but a caller who expects
    the stored version succeeds (after one internal retry)."""
    a, b = EventStore(app_pool, schema), EventStore(app_pool, schema)
    await a.append("case-stale1", [noted(1)], expected_version=0)
    await b.append("case-stale1", [noted(2)], expected_version=1)
    result = await a.append("case-stale1", [noted(3)], expected_version=2)
    assert result.version == 3
    assert await a.verify() == []


async def test_one_batch_with_every_outcome(app_pool, schema):
    """One locked call decides each request alone: a stale expectation is refused, a retry
    is recognised, a new stream is written, and a request that expected the stored head
    succeeds even though the request before it in the batch was refused."""
    store, other = EventStore(app_pool, schema), EventStore(app_pool, schema)
    await other.append("case-mix1", [noted(1)], expected_version=0)
    retried = [noted(2)]
    first = await store.append("case-mix2", retried, expected_version=0)
    outcomes = await asyncio.gather(
        store.append("case-mix1", [noted(3)], expected_version=0),
        store.append("case-mix1", [noted(4)], expected_version=1),
        store.append("case-mix2", retried, expected_version=0),
        store.append("case-mix3", [noted(5)], expected_version=0),
        return_exceptions=True,
    )
    stale, current, retry, new = outcomes
    assert isinstance(stale, Conflict) and "at version 1" in str(stale)
    assert current.version == 2 and current.written
    assert not retry.written and retry.positions == first.positions
    assert new.version == 1 and new.written
    assert [e.stream_version for e in await store.read_stream("case-mix1")] == [1, 2]
    assert await store.verify() == []


async def test_append_plan_made_on_an_empty_table_keeps_using_indexes(
    store, admin_conn, platform, schema
):
    """append_batch keeps one plan per statement and session (store/sql/03_append_batch.sql).
    Made while the table was empty, each must still reach events by key once the table has
    grown, not scan it: the fast path's check, and the full statement a retry takes."""
    session = await asyncpg.connect(platform.admin_database_url)
    plans: list[str] = []
    session.add_log_listener(lambda _conn, message: plans.append(message.message))
    try:
        await session.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
            "SET auto_explain.log_nested_statements = on; SET client_min_messages = log"
        )
        call = (
            f"SELECT * FROM {schema}.append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            f"$11, now(), $12, $13)"
        )

        async def append_one(stream: str, event_id: uuid.UUID) -> list[asyncpg.Record]:
            return await session.fetch(
                call,
                [stream],
                [0],
                [bytes(32)],
                [1],
                [1],
                [event_id],
                ["Noted"],
                [1],
                [stream],
                ["{}"],
                ["{}"],
                [bytes(32)],
                [bytes(32)],
            )

        first = uuid.uuid4()
        await append_one("case-plan0", first)  # both plans are made here, on an empty table
        await append_one("case-plan0", first)  # a retry: the full statement
        await admin_conn.execute(
            f"INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type, "
            f"schema_version, case_id, data, metadata, recorded_at, prev_hash, hash) "
            f"SELECT 'case-bulk' || (g % 500), g / 500 + 1, gen_random_uuid(), 'Noted', 1, "
            f"'case-bulk', '{{}}', '{{}}', now(), '', '' FROM generate_series(0, 19999) g"
        )
        plans.clear()
        second = uuid.uuid4()
        assert [r["status"] for r in await append_one("case-plan1", second)] == ["ok"]
        assert [r["status"] for r in await append_one("case-plan1", second)] == ["duplicate"]
    finally:
        await session.close()
    check = next(p for p in plans if "= ANY (p_event_id)" in p)
    full = next(p for p in plans if "WITH requests AS" in p)
    for statement in (check, full):
        assert f"Seq Scan on {schema}.events" not in statement
        assert "Seq Scan on events" not in statement
        assert "using events_event_id_key" in statement
        assert "Index Scan Backward using events_pkey" in statement


async def test_stream_agency_is_known_to_the_process_that_began_the_stream(
    app_pool, platform, schema
):
    """Access decisions ask for a case's agency on every request: the process that wrote the
    stream's first event knows it without a query; another reads it from the store."""
    pool = await asyncpg.create_pool(
        platform.database_url, min_size=1, max_size=1, init=init_connection
    )
    writer = EventStore(pool, schema)
    await writer.append("case-agency1", [noted(1)], expected_version=0)
    await writer.append("case-agency1", [noted(2)], expected_version=1)
    await pool.close()  # from here on, any query would fail
    assert await writer.stream_agency("case-agency1") == "agency-a"
    reader = EventStore(app_pool, schema)
    assert await reader.stream_agency("case-agency1") == "agency-a"
    assert await reader.stream_agency("case-none1") is None


async def test_hash_chain_detects_tampering(store, admin_conn, schema):
    for v in range(3):
        await store.append("case-eeee1", [noted(v)], expected_version=v)
    await store.append("case-eeee2", [noted(9)], expected_version=0)
    assert await store.verify() == []
    async with admin_conn.transaction():
        # A superuser bypassing the immutability trigger, as an attacker with DB access would.
        await admin_conn.execute("SET LOCAL session_replication_role = replica")
        await admin_conn.execute(
            f"UPDATE {schema}.events SET data = jsonb_set(data, '{{n}}', '7') "
            f"WHERE stream_id = 'case-eeee1' AND stream_version = 2"
        )
    breaks = await store.verify()
    assert [(b.stream_id, b.stream_version) for b in breaks] == [("case-eeee1", 2)]
    assert "case-eeee1 version 2" in str(breaks[0])


async def test_application_role_cannot_update_or_delete(store, app_pool, schema):
    await store.append("case-ffff1", [noted(1)], expected_version=0)
    async with app_pool.acquire() as conn:
        for sql in (
            f"UPDATE {schema}.events SET event_type = 'X'",
            f"DELETE FROM {schema}.events",
            f"TRUNCATE {schema}.events",
            f"INSERT INTO {schema}.events (stream_id, stream_version, event_id, "
            f"event_type, schema_version, case_id, data, metadata, recorded_at, "
            f"prev_hash, hash) VALUES ('s', 1, gen_random_uuid(), 't', 1, 'c', '{{}}', "
            f"'{{}}', now(), '', '')",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)


async def test_owner_cannot_update_either(store, admin_conn, schema):
    await store.append("case-gggg1", [noted(1)], expected_version=0)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await admin_conn.execute(f"DELETE FROM {schema}.events")


async def test_two_batches_in_flight_keep_every_stream_chained(app_pool, schema, monkeypatch):
    """With two lanes the writer sends a second batch while the first commits (writer.LANES):
    a stream is in one batch in flight at most, so racing writers of one stream still get
    exactly one winner per version and every chain verifies."""
    monkeypatch.setattr(writer, "LANES", 2)
    store = EventStore(app_pool, schema)
    won: list[int] = []

    async def own(stream: str) -> None:
        for v in range(30):
            await store.append(stream, [noted(v)], expected_version=v)

    async def racer() -> None:
        for _ in range(40):
            version = len(await store.read_stream("case-race1"))
            with contextlib.suppress(Conflict):
                await store.append("case-race1", [noted(version)], expected_version=version)
                won.append(version)

    await asyncio.gather(*(own(f"case-own{i:02d}") for i in range(12)), racer(), racer())
    await store.close()
    stored = [e.stream_version for e in await store.read_stream("case-race1")]
    assert sorted(v + 1 for v in won) == stored == list(range(1, len(stored) + 1))
    for i in range(12):
        assert len(await store.read_stream(f"case-own{i:02d}")) == 30
    assert await store.verify() == []


async def test_verify_in_worker_processes_finds_what_one_process_finds(
    store, app_pool, admin_conn, schema, platform, monkeypatch
):
    """The store cut into three ranges of positions, each verified in a process of its own on
    one exported snapshot: the links across the cuts are judged by the merge, so a break at a
    cut (an event removed just before it, a changed link just after it) and one inside a range
    are each found once, as by one process, in the same order. No break: none reported."""
    for v in range(10):  # two streams interleaved: each crosses every cut (positions 1-20)
        for s in ("case-par1", "case-par2"):
            await store.append(s, [noted(v)], expected_version=v)
    assert await verify_chain(app_pool, schema, dsn=platform.database_url, workers=3) == []
    monkeypatch.setattr(chain, "PARALLEL_FROM", 0)
    assert await verify_chain(app_pool, schema, dsn=platform.database_url, workers=3) == []
    positions = [r[0] for r in await admin_conn.fetch(
        f"SELECT global_position FROM {schema}.events ORDER BY 1")]  # fmt: skip
    cut = positions[0] + len(positions) // 3  # the first position of the second range
    async with admin_conn.transaction():
        # A superuser bypassing the immutability trigger, as an attacker with DB access would.
        await admin_conn.execute("SET LOCAL session_replication_role = replica")
        await admin_conn.execute(f"DELETE FROM {schema}.events WHERE global_position = $1", cut - 1)
        await admin_conn.execute(
            f"UPDATE {schema}.events SET prev_hash = '\\x01' WHERE global_position = $1", cut + 1
        )
        await admin_conn.execute(
            f"UPDATE {schema}.events SET data = jsonb_set(data, '{{n}}', '70') "
            f"WHERE global_position = $1",
            positions[-2],
        )
    one = await verify_chain(app_pool, schema)
    # The changed link is also covered by its own hash: three breaks at cut + 1.
    assert [b.global_position for b in one] == [cut + 1] * 3 + [positions[-2]]
    assert [b.problem.split(" ")[0] for b in one] == ["version", "prev_hash", "content", "content"]
    assert await verify_chain(app_pool, schema, dsn=platform.database_url, workers=3) == one


async def test_a_failed_verify_worker_fails_the_verification(store, app_pool, schema, monkeypatch):
    """A worker that cannot do its range (here: no database at its address) fails the whole
    verification, never a partial pass; the other workers are cancelled and their processes
    killed, so the call returns with none left running."""
    await store.append("case-fail1", [noted(0)], expected_version=0)
    monkeypatch.setattr(chain, "PARALLEL_FROM", 0)
    nowhere = "postgresql://mend_app@127.0.0.1:1/mend?sslmode=disable"
    with pytest.raises(RuntimeError, match="worker failed"):
        await verify_chain(app_pool, schema, dsn=nowhere, workers=3)
