"""The hub's events reach `hub.events.v1` through its relay on the real broker, as well-formed
CloudEvents every other service can read: here read with the aftercare service's own principal
under the platform's ACLs (`READ_BY_ALL`), decoded as any consumer decodes them."""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer
from mend_events.app.settings import KafkaAuth, events_topic, kafka_options
from mend_events.messaging import acls
from mend_events.messaging.cloudevents import from_message
from mend_events.messaging.topics import ensure_topics
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import CASE_A, COORD_A, PRAC_1, PRAC_2, A, Callers, two_agencies


async def read_as(bootstrap: str, auth: KafkaAuth, topic: str, expect: int) -> list:
    consumer = AIOKafkaConsumer(
        topic, **kafka_options(bootstrap, auth), auto_offset_reset="earliest",
        enable_auto_commit=False, fetch_max_wait_ms=50,
    )  # fmt: skip
    await consumer.start()
    records, deadline = [], time.monotonic() + 30
    try:
        while len(records) < expect and time.monotonic() < deadline:
            for part in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


@pytest.fixture
def aftercare_principal(launcher) -> KafkaAuth:
    local = launcher.Settings.from_env()
    return KafkaAuth("aftercare", local.kafka_password("aftercare"))


async def test_the_hubs_events_reach_its_topic_and_other_services_read_them(
    platform, unique, topic_prefix, token, aftercare_principal
):
    await ensure_topics(platform.kafka_bootstrap, ["hub", "sessions"], prefix=topic_prefix)
    await acls.apply(platform.kafka_bootstrap, topic_prefix)
    who = Callers(token)
    async with running_service(build, "hub", platform, unique, topic_prefix) as (client, _, rt):
        await two_agencies(client, who)
        await open_case(rt, CASE_A, "hp-aaaa0001", agency=A)
        body = {"practitioner_id": PRAC_1}
        r = await client.post(f"/cases/{CASE_A}/allocations", json=body, headers=who.coordinator())
        assert r.status_code == 201, r.text
        move = {"from_practitioner_id": PRAC_1, "to_practitioner_id": PRAC_2, "reason": "other"}
        r = await client.post(
            f"/cases/{CASE_A}/allocations/reallocation", json=move, headers=who.coordinator()
        )
        assert r.status_code == 201, r.text
        stored = await rt.store.read_all(0, 1000)
        topic = events_topic("hub", topic_prefix)
        records = await read_as(platform.kafka_bootstrap, aftercare_principal, topic, len(stored))

    published = [from_message(r.value, r.headers) for r in records]
    assert sorted(e.event_id for e in published) == sorted(e.event_id for e in stored)
    assert {e.service for e in published} == {"hub"}
    by_key = {}
    for record, event in zip(records, published, strict=True):
        by_key.setdefault(record.key.decode(), []).append(event.event_type)
    assert by_key[f"agency:{A}"] == ["AgencyOnboarded", "AgencyKeyAdded"]
    assert by_key[f"staff:{COORD_A}"] == ["StaffEnrolled"]
    assert by_key[f"staff:{PRAC_1}"] == ["StaffEnrolled", "StaffQualificationsRecorded"]
    # a case's allocations in order on its partition
    assert by_key[CASE_A] == ["CaseAllocated", "CaseDeallocated", "CaseAllocated"]
    reallocated = [e for e in published if e.case_id == CASE_A]
    assert [e.decode().practitioner_id for e in reallocated] == [PRAC_1, PRAC_1, PRAC_2]


async def test_a_case_opened_in_sessions_reaches_the_hub_over_the_broker(
    platform, unique, topic_prefix, token
):
    """The hub's `sessions` subscription: a CaseOpened relayed from a real sessions store makes
    the case known to the hub, with its agency, so its coordinator may allocate to it."""
    import asyncio
    from datetime import UTC, datetime
    from uuid import uuid4

    from bus_helpers import wait_until
    from mend_events.app.db import create_pool
    from mend_events.contracts.actors import Role
    from mend_events.contracts.envelope import Metadata, NewEvent
    from mend_events.messaging.relay import Relay
    from mend_events.store import EventStore
    from mend_testkit.fixtures import drop_schema, make_schema

    await ensure_topics(platform.kafka_bootstrap, ["hub", "sessions"], prefix=topic_prefix)
    sessions_schema = await make_schema(platform, None, f"sessions_{unique}")
    pool = await create_pool(platform.database_url)
    store = EventStore(pool, sessions_schema, service="sessions")
    relay = Relay(store, platform.database_url, platform.kafka_bootstrap,
                  events_topic("sessions", topic_prefix))  # fmt: skip
    relaying = asyncio.create_task(relay.run())
    who = Callers(token)
    try:
        async with running_service(build, "hub", platform, unique, topic_prefix) as (
            client, app, _,
        ):  # fmt: skip
            await two_agencies(client, who)
            meta = Metadata("hp-aaaa0001", Role.HARMED_PERSON, A, uuid4(), None, datetime.now(UTC))
            await store.append(CASE_A, [NewEvent(uuid4(), _case_opened(A), meta)],
                               expected_version=0)  # fmt: skip

            async def known() -> bool:
                entry = await app.state.service.case(CASE_A, wait=0)
                return entry is not None and entry.agency == A

            await wait_until(known)
            body = {"practitioner_id": PRAC_1}
            r = await client.post(
                f"/cases/{CASE_A}/allocations", json=body, headers=who.coordinator()
            )
            assert r.status_code == 201, r.text
            other = await client.post(
                f"/cases/{CASE_A}/allocations", json=body, headers=who.coordinator("agency-b")
            )
            assert other.status_code == 403, other.text
    finally:
        relay.stop()
        await relaying
        await pool.close()
        await drop_schema(platform, sessions_schema)


def _case_opened(agency: str):
    from mend_events.contracts.catalog.sessions import (
        CaseOpened,
        HarmCategory,
        JusticeStage,
        Route,
    )

    return CaseOpened(
        harm_category=HarmCategory.SEXUAL_ASSAULT,
        justice_stage=JusticeStage.NONE,
        agency=agency,
        harmed_person_id="hp-aaaa0001",
        route=Route.SELF_REFERRAL,
    )
