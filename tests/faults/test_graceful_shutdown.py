"""Graceful shutdown (issue 19): SIGTERM to a sessions service process under load (withdrawals
and unrelated consents arriving). It exits with code 0 within its grace period
(MEND_SHUTDOWN_GRACE_SECONDS, default 20 s, below Kubernetes' 30 s); the handling in flight is
finished and its offsets committed (each consumer group's committed offsets equal what its inbox
applied: nothing to redeliver); it left its groups (a successor takes the partitions at once,
without waiting out a session timeout); and the successor finishes the work: every withdrawal
halts its meeting exactly once, and it absorbs no duplicate."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from bus_helpers import wait_until
from mend_events.app.settings import kafka_options

from tests.faults.processes import start_service, stopped_after
from tests.faults.sessions_world import sessions_world

pytestmark = pytest.mark.fault

CASES = 30
GRACE = 20.0  # MEND_SHUTDOWN_GRACE_SECONDS' default
TAKE_OVER_BOUND = 6.0  # seconds until a successor halts: a session timeout (10 s) is not waited


async def committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values())


async def test_sigterm_under_load_finishes_commits_and_leaves(
    platform, app_pool, unique, topic_prefix, tmp_path
):
    async with sessions_world(platform, app_pool, unique, topic_prefix) as world:
        cases = [f"case-t{unique[:6]}{i:03d}" for i in range(CASES)]
        for case in cases:
            await world.scheduled_case(case)
        schema = world.sessions_schema
        first = await start_service(platform, "sessions", schema, topic_prefix, tmp_path / "a.log")
        stop = asyncio.Event()
        load = asyncio.create_task(world.background(stop, per_second=80))
        conn = await asyncpg.connect(platform.admin_database_url)
        async with stopped_after(first):
            try:
                early = []
                for i, case in enumerate(cases[:20]):
                    early.append(await world.withdraw(case))
                    if i == 12:
                        first.kill(signal.SIGTERM)
                        termed = time.monotonic()
                    await asyncio.sleep(0.1)
                code = await asyncio.wait_for(first.proc.wait(), GRACE + 15)
                took = time.monotonic() - termed
            finally:
                stop.set()
                await load
        log = first.log.read_text()
        assert code == 0, log[-3000:]
        assert took < GRACE, f"{took:.1f}s"
        # Everything it applied has its offset committed: nothing to hand out again.
        for row in await conn.fetch(
            f"SELECT consumer, count(*) AS n FROM {schema}.inbox GROUP BY consumer"
        ):
            offsets = await committed(platform.kafka_bootstrap, row["consumer"])
            assert offsets == row["n"], (row["consumer"], offsets, row["n"])

        second = await start_service(platform, "sessions", schema, topic_prefix, tmp_path / "b.log")
        async with stopped_after(second):

            async def halted(ids) -> bool:
                return set(ids) <= set(await world.halts(conn))

            asked = time.monotonic()
            late = [await world.withdraw(c) for c in cases[20:]]
            await wait_until(lambda: halted(late), timeout=30)
            taken_over = time.monotonic() - asked
            await wait_until(lambda: halted(early), timeout=30)
            duplicates = await second.metric("mend_inbox_duplicates")
        halts = await world.halts(conn)
        await conn.close()
    print(f"graceful: exit 0 in {took:.1f}s after SIGTERM; successor halted in {taken_over:.1f}s")
    assert set(halts) == set(world.withdrawals)
    assert all(len(after) == 1 for after in halts.values()), halts
    assert duplicates == 0
    assert taken_over < TAKE_OVER_BOUND


async def test_sigterm_with_the_broker_frozen_still_exits_within_the_grace(
    platform, launcher, app_pool, unique, topic_prefix, tmp_path
):
    """Leaving a group or committing needs the broker: with it frozen (SIGSTOP), the stop is cut
    at its share of the grace period and the process still exits, with code 0, before the
    orchestrator would kill it. What it could not commit is redelivered and absorbed."""
    grace = 8.0
    local = launcher.Settings.from_env()
    kafka = launcher.read_pid(local.run / "kafka.pid")
    assert kafka is not None
    async with sessions_world(platform, app_pool, unique, topic_prefix) as world:
        service = await start_service(
            platform, "sessions", world.sessions_schema, topic_prefix, tmp_path / "s.log",
            env={"MEND_SHUTDOWN_GRACE_SECONDS": str(grace)},
        )  # fmt: skip
        async with stopped_after(service):
            os.kill(kafka, signal.SIGSTOP)
            try:
                service.kill(signal.SIGTERM)
                termed = time.monotonic()
                code = await asyncio.wait_for(service.proc.wait(), grace + 20)
                took = time.monotonic() - termed
            finally:
                os.kill(kafka, signal.SIGCONT)
    print(f"graceful, broker frozen: exit {code} in {took:.1f}s (grace {grace:g}s)")
    assert code == 0, service.log.read_text()[-3000:]
    assert took < grace
