"""The case index's tables on the real PostgreSQL: applied through the platform's inbox
(a redelivered event changes nothing), rebuilt by replay to the same rows, and asked only
within an agency and, for a practitioner, their own allocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_events.app.db import create_pool
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import CheckInScheduled
from mend_events.contracts.catalog.hub import CaseAllocated, CaseDeallocated
from mend_events.messaging.inbox import Inbox, Position
from mend_testkit.fixtures import drop_schema, make_schema
from mend_testkit.samples import case_opened, consent_given, delivered
from mend_web.index import Index, Search
from mend_web.index.feed import IndexFeed
from mend_web.index.tables import TABLES

PRAC, OTHER = "prac-idx001", "prac-idx002"
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def allocation(case: str, practitioner: str, agency: str = "agency-a", kind=CaseAllocated):
    event = kind(agency_id=agency, case_id=case, practitioner_id=practitioner, reason="new_case")
    return delivered("hub", "allocations", event, role=Role.COORDINATOR, agency=agency, at=T0)


def case_events(case: str, hp: str, agency: str = "agency-a", due_in: int = 24) -> list:
    check_in = CheckInScheduled(check_in_id=uuid4(), participant_id=hp,
                                participant_role="harmed_person",
                                due_at=T0 + timedelta(hours=due_in))  # fmt: skip
    return [
        delivered("sessions", case, case_opened(hp, agency), agency=agency, at=T0),
        delivered("consent", case, consent_given(hp), agency=agency, at=T0),
        delivered("aftercare", case, check_in, role=Role.PRACTITIONER, agency=agency, at=T0),
    ]


@pytest.fixture
async def index(platform, unique):
    schema = await make_schema(platform, "web", f"web_{unique}")
    pool = await create_pool(platform.database_url, min_size=1, max_size=4)
    try:
        yield Index(pool, schema)
    finally:
        await pool.close()
        await drop_schema(platform, schema)


async def deliver(index: Index, events, inbox: Inbox) -> None:
    async with index.pool.acquire() as conn:
        for n, event in enumerate(events):
            async with conn.transaction():
                await inbox.apply_one(conn, event, Position("web.index", "t", 0, n))


async def rows(index: Index) -> list:
    out = []
    for table in TABLES:
        found = await index.pool.fetch(f"SELECT * FROM {index.s}.{table} ORDER BY 1, 2, 3")
        out.append([{k: v for k, v in dict(r).items() if k != "entry"} for r in found])
    return out


async def test_redelivery_changes_nothing_and_a_rebuild_gives_the_same_rows(index):
    feed = IndexFeed(index.s)
    inbox = Inbox(index.s, "web.index", feed.on_index, None)
    events = [*case_events("case-idx001", "hp-idx0001"), allocation("case-idx001", PRAC)]
    await deliver(index, events, inbox)
    once = await rows(index)
    await deliver(index, events, inbox)  # redelivered: the inbox has them
    assert await rows(index) == once
    async with index.pool.acquire() as conn, conn.transaction():  # rebuild: reset, replay
        await feed.projection.reset(conn)
        await feed.projection.apply(conn, events)
    assert await rows(index) == once
    assert once[0][0]["stage"] == "aftercare" and once[0][0]["gates"] == ["risk_decision_missing"]


async def test_each_question_stays_in_its_agency_and_a_practitioners_caseload(index):
    feed = IndexFeed(index.s)
    events = [
        *case_events("case-idx001", "hp-idx0001", due_in=48),
        *case_events("case-idx002", "hp-idx0002", due_in=24),
        *case_events("case-idx003", "hp-idx0003"),
        *case_events("case-bbb001", "hp-bbb0001", agency="agency-b"),
        allocation("case-idx001", PRAC),
        allocation("case-idx002", PRAC),
        allocation("case-idx003", OTHER),
        allocation("case-bbb001", PRAC, agency="agency-b"),
        allocation("case-idx003", PRAC),
        allocation("case-idx003", PRAC, kind=CaseDeallocated),
    ]
    async with index.pool.acquire() as conn, conn.transaction():
        await feed.projection.apply(conn, events)
    queue = await index.queue("agency-a", PRAC)
    assert [(i["case_id"], i["kind"]) for i in queue] == [
        ("case-idx002", "check_in"), ("case-idx001", "check_in")]  # fmt: skip
    assert await index.queue("agency-a", "prac-nobody1") == []
    assert [i["case_id"] for i in await index.queue("agency-b", PRAC)] == ["case-bbb001"]
    assert await index.caseload("agency-a", PRAC) == ["case-idx001", "case-idx002"]
    assert await index.caseloads("agency-a") == {PRAC: 2, OTHER: 1}
    assert await index.cases_of("agency-a", "hp-idx0002") == ["case-idx002"]
    assert await index.cases_of("agency-b", "hp-idx0002") == []

    async def found(criteria: Search, practitioner: str | None = PRAC) -> list[str]:
        hits = await index.search("agency-a", criteria, practitioner_id=practitioner)
        return sorted(h["case_id"] for h in hits)

    assert await found(Search()) == ["case-idx001", "case-idx002"]
    assert await found(Search(), None) == ["case-idx001", "case-idx002", "case-idx003"]
    assert await found(Search(prefix="case-idx00")) == ["case-idx001", "case-idx002"]
    assert await found(Search(prefix="case_idx%")) == []  # literal, never a pattern
    assert await found(Search(stage="aftercare", harm_category="sexual_assault", has_due=True)) == [
        "case-idx001", "case-idx002"]  # fmt: skip
    assert await found(Search(stage="contact")) == []
    assert await found(Search(harm_category="rape")) == []
