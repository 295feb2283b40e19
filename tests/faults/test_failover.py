"""Row g of the fault matrix: two instances of a service (processes, one schema, one consumer
group per subscription) under load; the one whose relay is active is killed with SIGKILL while
the causes of its reactions arrive. For every service that reacts to consent: sessions halts
each withdrawn case's meeting, aftercare offers after-care for each withdrawal, the hub tells
the allocated facilitator of each withdrawal, circles halt the member's participation for each
withdrawal of her circle consent, risk makes a
reassessment due for each consent given again after one. Each cause has its effect exactly
once (no duplicate effect: the survivor is handed the dead member's partitions and its
messages again), within FAILOVER_BOUND of the cause even across the failover; exactly one relay
is active before and after (the survivor takes the lock), and every effect reaches the
service's topic."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from bus_helpers import read_topic, wait_until
from mend_events.app.settings import events_topic
from mend_events.messaging.cloudevents import from_message

from tests.faults.processes import start_service, stopped_after
from tests.faults.sessions_world import sessions_world

pytestmark = pytest.mark.fault

CASES = 40
# The service, the effect each cause must have once, and how the world makes the cause.
ROWS = {
    "sessions": ("SessionHalted", "withdraw"),
    "aftercare": ("AftercareOffered", "withdraw"),
    "hub": ("StaffNotified", "withdraw"),
    "circles": ("MemberParticipationHalted", "withdraw"),
    "risk": ("RiskReassessmentDue", "withdraw_and_give_again"),
}
STEADY_BOUND = 10.0  # seconds from a cause to its effect, both instances up
FAILOVER_BOUND = 25.0  # across the kill: the group's 10 s session timeout + a rebalance (12 s seen)


@pytest.mark.parametrize("service", sorted(ROWS))
async def test_two_instances_one_killed_under_load(
    platform, app_pool, unique, topic_prefix, tmp_path, service
):
    effect, make_cause = ROWS[service]
    async with sessions_world(platform, app_pool, unique, topic_prefix, service) as world:
        cause = getattr(world, make_cause)
        cases = [f"case-g{unique[:6]}{i:03d}" for i in range(CASES)]
        for case in cases:
            await world.scheduled_case(case)
        schema = world.sessions_schema
        a = await start_service(platform, service, schema, topic_prefix, tmp_path / "a.log")
        b = await start_service(platform, service, schema, topic_prefix, tmp_path / "b.log")
        stop = asyncio.Event()
        load = asyncio.create_task(world.background(stop))
        conn = await asyncpg.connect(platform.admin_database_url)
        async with stopped_after(a, b):
            try:
                actives: list[float] = []

                async def one_relay() -> bool:
                    actives[:] = [await a.metric("mend_relay_active"),
                                  await b.metric("mend_relay_active")]  # fmt: skip
                    return sorted(actives) == [0.0, 1.0]

                await wait_until(one_relay, timeout=30)
                leader, survivor = (a, b) if actives[0] == 1.0 else (b, a)
                steady = [await cause(c) for c in cases[:10]]

                async def took_effect(ids) -> bool:
                    return set(ids) <= set(await world.effects(conn, effect))

                await wait_until(lambda: took_effect(steady), timeout=STEADY_BOUND + 20)
                failover = []
                for i, case in enumerate(cases[10:]):
                    failover.append(await cause(case))
                    if i == 5:
                        leader.kill()
                        killed_at = time.monotonic()
                    await asyncio.sleep(0.2)
                assert await leader.proc.wait() == -9
                await wait_until(lambda: took_effect(failover), timeout=FAILOVER_BOUND + 30)
                await wait_until(survivor.ready, timeout=30)
                assert await survivor.metric("mend_relay_active") == 1.0
                took_over = time.monotonic() - killed_at
            finally:
                stop.set()
                await load
            effects = await world.effects(conn, effect)
            head = await conn.fetch(
                f"SELECT event_id FROM {schema}.events WHERE event_type = $1", effect
            )
        await conn.close()
    worst_steady = max(effects[w][0] for w in steady)
    worst_failover = max(effects[w][0] for w in failover)
    print(
        f"row g ({service}, {effect}): steady <= {worst_steady:.2f}s, across the kill <= "
        f"{worst_failover:.2f}s; survivor ready with the relay within {took_over:.1f}s"
    )
    # No duplicate effect: one per cause, none without one.
    assert set(effects) == set(steady) | set(failover)
    assert all(len(after) == 1 for after in effects.values()), effects
    assert max(effects[w][0] for w in steady) < STEADY_BOUND
    assert max(effects[w][0] for w in failover) < FAILOVER_BOUND, sorted(
        effects[w][0] for w in failover
    )
    assert took_over < FAILOVER_BOUND + 30
    # Every effect reached the topic: the survivor's relay published what the dead one had not.
    records = await read_topic(
        platform.kafka_bootstrap, events_topic(service, topic_prefix), expect=10**9, timeout=8
    )
    published = {from_message(r.value, r.headers).event_id for r in records}
    assert {r["event_id"] for r in head} <= published
