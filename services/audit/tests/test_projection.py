"""The stored projection: live (fed as events arrive) equals rebuilt; rebuilds are identical;
the stored entries are the replayed ones."""

from __future__ import annotations

import asyncio

from mend_audit.entries import COLUMNS, entry_of
from mend_audit.history import CaseHistory, to_json
from mend_audit.projection import CaseHistoryProjection
from mend_audit.replay import read_events
from mend_audit.summaries import facts, summarise, summary_and_facts, withholds
from mend_events.app.db import create_pool
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import AftercareDeclined
from mend_testkit.case_writer import audit_schema_named
from mend_testkit.fixtures import drop_schema
from mend_testkit.written_cases import HP, risk_flag_journey, withdrawal_journey


async def stored_rows(pool, schema: str) -> bytes:
    """Every row, in a fixed order, as canonical JSON bytes."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM {schema}.case_history "
            f"ORDER BY service, global_position"
        )
    return to_json([dict(r) for r in rows])


async def test_live_projection_equals_a_rebuild(platform, audit, writer, unique):
    live = CaseHistoryProjection(
        audit.pool, schemas=audit.schemas, audit_schema=audit.audit_schema, batch_size=7
    )
    assert await live.catch_up() == 0
    await withdrawal_journey(writer, "case-live0001")
    first = await live.catch_up()  # several small steps, interleaving the four stores
    await risk_flag_journey(writer, "case-live0002")
    second = await live.catch_up()
    assert (first, second) == (21, 20)
    assert await live.catch_up() == 0  # nothing twice

    # A rebuild into a second audit schema from the same stores holds the same rows.
    other = await audit_schema_named(platform, f"audit2_{unique}")
    try:
        rebuilt = CaseHistoryProjection(audit.pool, schemas=audit.schemas, audit_schema=other)
        assert await rebuilt.rebuild() == 41
        assert await stored_rows(audit.pool, other) == await stored_rows(
            audit.pool, audit.audit_schema
        )
        assert await rebuilt.positions() == await live.positions()
    finally:
        await drop_schema(platform, other)


async def test_rebuild_twice_is_byte_identical_and_matches_replay(audit, writer):
    projection = CaseHistoryProjection(
        audit.pool, schemas=audit.schemas, audit_schema=audit.audit_schema
    )
    w = await withdrawal_journey(writer, "case-reb00001")
    await risk_flag_journey(writer, "case-reb00002")
    assert await projection.rebuild() == 41
    one = await stored_rows(audit.pool, audit.audit_schema)
    assert await projection.rebuild() == 41
    assert await stored_rows(audit.pool, audit.audit_schema) == one

    # The stored entries of a case are exactly the replayed ones, as of any moment too.
    for as_of in (None, w["halted"].recorded_at):
        stored = await projection.entries("case-reb00001", as_of)
        replayed = [
            entry_of(e)
            for e in await read_events(
                audit.pool, schemas=audit.schemas, case="case-reb00001", as_of=as_of
            )
        ]
        assert stored == replayed
        assert to_json(CaseHistory("case-reb00001", stored).timeline()) == to_json(
            CaseHistory("case-reb00001", replayed).timeline()
        )
    # After a rebuild the live path continues from the tracked positions.
    await writer.record("aftercare", "case-reb00001", AftercareDeclined(), HP, Role.HARMED_PERSON)
    assert await projection.catch_up() == 1


async def test_rebuild_and_live_catch_up_at_once_write_each_event_once(audit, writer):
    projection = CaseHistoryProjection(
        audit.pool, schemas=audit.schemas, audit_schema=audit.audit_schema, batch_size=5
    )
    await withdrawal_journey(writer, "case-con00001")
    await projection.catch_up()
    await risk_flag_journey(writer, "case-con00002")
    await asyncio.gather(projection.rebuild(), projection.catch_up(), projection.catch_up())
    async with audit.pool.acquire() as conn:
        rows, distinct = await conn.fetchrow(
            f"SELECT count(*), count(DISTINCT (service, global_position)) "
            f"FROM {audit.audit_schema}.case_history"
        )
    assert rows == distinct == 41


async def test_rebuild_on_one_connection_holds_the_same_rows(platform, audit, writer, unique):
    """With a pool of one connection the store is read and the rows written on the same
    connection, taking turns: the same rows as a rebuild reading ahead on a second one."""
    await withdrawal_journey(writer, "case-one00001")
    await risk_flag_journey(writer, "case-one00002")
    two = CaseHistoryProjection(
        audit.pool, schemas=audit.schemas, audit_schema=audit.audit_schema, batch_size=4
    )
    assert await two.rebuild() == 41
    other = await audit_schema_named(platform, f"audit3_{unique}")
    pool = await create_pool(platform.database_url, min_size=1, max_size=1)
    try:
        one = CaseHistoryProjection(pool, schemas=audit.schemas, audit_schema=other, batch_size=4)
        assert await one.rebuild() == 41
        assert await stored_rows(pool, other) == await stored_rows(pool, audit.audit_schema)
        assert await one.positions() == await two.positions()
    finally:
        await pool.close()
        await drop_schema(platform, other)


async def test_summary_and_facts_equal_the_three_functions(audit, writer):
    """What the projection calls once per event equals summarise, withholds and facts."""
    await withdrawal_journey(writer, "case-sum00001")
    await risk_flag_journey(writer, "case-sum00002")
    events = await read_events(audit.pool, schemas=audit.schemas)
    sealed = {"alg": "A256GCM", "kid": "k-1", "iv": "aXY=", "ct": "Y3Q="}
    pairs = [(e.event_type, e.data) for e in events] + [
        ("SomethingUnknown", {"note": sealed, "n": 3}),
        ("SomethingUnknown", {"n": 3}),
        ("SessionHalted", {"unexpected": ["shape"]}),
    ]
    assert any(withholds(t, d) for t, d in pairs)
    for event_type, data in pairs:
        expected = facts(event_type, data) if withholds(event_type, data) else None
        assert summary_and_facts(event_type, data) == (summarise(event_type, data), expected)
