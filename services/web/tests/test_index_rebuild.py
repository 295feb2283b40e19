"""The case index rebuilt by replay through the real broker: `rebuild` empties it and moves to
the next generation, and the next consumer (a new group) reads every topic from the start, so
the case and its allocation are back as they were."""

from __future__ import annotations

from mend_testkit.waiting import wait_until
from mend_web.index.feed import index_consumer, rebuild

from .accounts import open_and_allocate, staffed

A, CASE, HP, PRAC = "agency-a", "case-rebuild01", "hp-rebuild01", "prac-rebuild1"


async def test_a_rebuild_replays_every_topic_into_an_empty_index(world, platform, topic_prefix):
    await staffed(world, A, "coord-aaaa01", (PRAC,))
    await open_and_allocate(world, A, CASE, HP, PRAC)
    index = world.app.state.index

    async def indexed() -> list:
        found = await index.search(A, practitioner_id=PRAC)
        return found if [f["case_id"] for f in found] == [CASE] else []

    before = await wait_until(indexed)
    await world.app.state.index_feed.stop()
    async with index.pool.acquire() as conn:
        assert await rebuild(conn, index.s) == 2
    assert await index.search(A) == [] and await index.caseload(A, PRAC) == []
    feed = await index_consumer(index.pool, index.s, platform, topic_prefix)
    await feed.start()
    try:
        assert await wait_until(indexed) == before
        assert await index.cases_of(A, HP) == [CASE]
    finally:
        await feed.stop()
