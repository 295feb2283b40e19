"""Reassessment triggers consumed from the other services over the real broker: each trigger
makes one reassessment due, once, even when the broker delivers it twice.

Consent events come from the consent service itself, running in the test on the same topics.
The sessions and aftercare services have no app yet: their events are appended to their own
event stores (their schemas) and published by their relays, exactly as those services will."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from bus_helpers import wait_until
from mend_consent.app import build as build_consent
from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import CheckInMissed
from mend_events.contracts.catalog.sessions import (
    CaseResumed,
    FacilitatorChosen,
    PreferencesSet,
    SessionHalted,
)
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import producer_for
from mend_risk.app import build as build_risk
from mend_risk.reactions import Reactions
from mend_testkit.directory import allocate
from mend_testkit.fixtures import drop_schema, make_schema, running_service
from mend_testkit.samples import case_opened, consent_body

CASE = "case-0002bb"
HP, RP, PRAC = "hp-alice01", "rp-bob0001", "prac-carol1"
AGENCY = "agency-a"


@contextlib.asynccontextmanager
async def source(service: str, platform, unique: str, topic_prefix: str):
    """Another service's event store and relay, on its own schema and this test's topics."""
    schema = await make_schema(platform, None, f"{service}_{unique}")
    runtime = ServiceRuntime(service, platform, schema, topic_prefix=topic_prefix)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await drop_schema(platform, schema)


async def append(
    runtime: ServiceRuntime,
    event: DomainEvent,
    *,
    actor: str = PRAC,
    role: Role = Role.PRACTITIONER,
) -> UUID:
    assert runtime.store is not None
    version = len(await runtime.store.read_stream(CASE))
    meta = Metadata(actor, role, AGENCY, uuid4(), None, datetime.now(UTC))
    new = NewEvent(uuid4(), event, meta)
    await runtime.store.append(CASE, [new], expected_version=version)
    return new.event_id


@pytest.fixture
async def services(platform, unique, topic_prefix):
    async with (
        source("sessions", platform, unique, topic_prefix) as sessions,
        source("aftercare", platform, unique, topic_prefix) as aftercare,
        running_service(
            build_consent, "consent", platform, unique, topic_prefix, lapse_interval=3600
        ) as consent,
        running_service(build_risk, "risk", platform, unique, topic_prefix) as risk,
    ):
        yield risk, consent, sessions, aftercare


async def risk_events(runtime) -> list[tuple[str, dict, dict]]:
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT event_type, data, metadata FROM {runtime.schema}.events "
            f"WHERE stream_id = $1 ORDER BY stream_version",
            CASE,
        )
    return [(r["event_type"], r["data"], r["metadata"]) for r in rows]


async def inbox_size(runtime) -> int:
    """Messages the trigger consumer took in (the registry's consumer reads sessions too)."""
    async with runtime.pool.acquire() as conn:
        return await conn.fetchval(
            f"SELECT count(*) FROM {runtime.schema}.inbox WHERE consumer = $1",
            runtime.consumers[0].name,
        )


async def test_each_trigger_makes_one_reassessment_due_even_when_delivered_twice(
    services, token, platform
):
    (risk_client, risk_app, risk), (consent_client, consent_app, consent), sessions, aftercare = (
        services
    )
    triggers: dict[UUID, str] = {}  # trigger event id -> the reassessment trigger expected
    # The case opens in the sessions service; consent learns of it over the broker.
    await append(
        sessions,
        case_opened(HP, AGENCY),
        actor=HP,
        role=Role.HARMED_PERSON,
    )
    assert await consent_app.state.service.case(CASE, wait=30) is not None

    # consent: a first grant is no trigger; withdrawn and given again, it is.
    hp = token("harmed_person", HP)
    give = consent_body(HP, "contact:face_to_face")
    for scope in ("take_part", "contact:face_to_face"):
        r = await consent_client.post(
            f"/cases/{CASE}/consents", json={**give, "scope": scope}, headers=hp
        )
        assert r.status_code == 201, r.text
    r = await consent_client.post(
        f"/cases/{CASE}/withdrawals",
        json={"participant_id": HP, "scope": "contact:face_to_face"},
        headers=hp,
    )
    assert r.status_code == 201, r.text
    r = await consent_client.post(f"/cases/{CASE}/consents", json=give, headers=hp)
    assert r.status_code == 201, r.text
    triggers[UUID(r.json()["events"][0]["event_id"])] = "consent_regranted"

    # sessions: stage changes and halts for safety are triggers; the rest are not.
    await append(
        sessions,
        PreferencesSet(
            min_gap_days=7,
            permitted_forms=("letter",),
            speaks_first=HP,
            responsible_person_takes_part=True,
            invited=(),
            progress_updates=False,
        ),
        actor=HP,
        role=Role.HARMED_PERSON,
    )
    triggers[
        await append(
            sessions, FacilitatorChosen(practitioner_id=PRAC), actor=HP, role=Role.HARMED_PERSON
        )
    ] = "case_stage_changed"
    triggers[
        await append(
            sessions,
            SessionHalted(
                session_id="sess-0001",
                halted_by_id=PRAC,
                halted_by_role=Role.PRACTITIONER,
                cause="practitioner_halt",
            ),
        )
    ] = "session_halted_for_safety"
    await append(
        sessions,
        SessionHalted(
            session_id="sess-0002",
            halted_by_id=None,
            halted_by_role=Role.SYSTEM,
            cause="consent_withdrawn",
            cause_event_id=uuid4(),
        ),
        actor="svc-sessions",
        role=Role.SYSTEM,
    )
    triggers[await append(sessions, CaseResumed(), actor=HP, role=Role.HARMED_PERSON)] = (
        "case_stage_changed"
    )

    # aftercare: the responsible person's missed check-in is a trigger, the harmed person's never.
    for person, role in ((RP, "responsible_person"), (HP, "harmed_person")):
        event_id = await append(
            aftercare,
            CheckInMissed(check_in_id=uuid4(), participant_id=person, participant_role=role),
            actor="svc-aftercare",
            role=Role.SYSTEM,
        )
        if role == "responsible_person":
            triggers[event_id] = "responsible_person_check_in_missed"

    sources = (consent, sessions, aftercare)
    published = 0
    for s in sources:
        published += len(await s.store.read_all(0, 1000))
    assert published == 12  # consent 4, sessions 6, aftercare 2

    async def all_consumed() -> bool:
        return await inbox_size(risk) == published

    await wait_until(all_consumed, timeout=60)

    async def dues() -> dict[UUID, tuple[str, dict]]:
        return {
            UUID(data["trigger_event_id"]): (data["trigger"], meta)
            for kind, data, meta in await risk_events(risk)
            if kind == "RiskReassessmentDue"
        }

    first = await dues()
    assert {k: v[0] for k, v in first.items()} == triggers
    for cause, (_, meta) in first.items():
        assert meta["causation_id"] == str(cause)
        assert (meta["actor_id"], meta["role"], meta["agency"]) == ("svc-risk", "system", AGENCY)
    written = await risk_events(risk)
    assert len(written) == len(triggers)  # nothing but the reassessments due

    # The broker delivers every message again (e.g. a relay that crashed before its
    # checkpoint): the same keys, bodies and headers, re-published.
    consumer = risk.consumers[0]
    before = consumer.processed
    producer = producer_for(platform.kafka_bootstrap)
    await producer.start()
    try:
        for s in sources:
            for event in await s.store.read_all(0, 1000):
                key, value, headers = to_message(event)
                await producer.send_and_wait(s.topic, value, key=key, headers=headers)
    finally:
        await producer.stop()

    async def redelivered() -> bool:
        return consumer.processed >= before + published

    await wait_until(redelivered, timeout=60)
    assert await risk_events(risk) == written

    # Past the inbox too (a lost inbox row): the derived id and the idempotent decide hold.
    handle = Reactions(risk.schema, lambda: risk_app.state.service).on_triggers
    for s in (sessions, aftercare):
        for event in await s.store.read_all(0, 1000):
            async with risk.pool.acquire() as conn, conn.transaction():
                await handle(conn, event)
    assert await risk_events(risk) == written

    # The reassessments show in the risk position until an assessment answers them.
    await allocate(risk, CASE, PRAC)
    prac = token("practitioner", PRAC)
    position = (await risk_client.get(f"/cases/{CASE}/risk", headers=prac)).json()
    assert position["reassessment_due"] is True
    assert {t["trigger_event_id"] for t in position["reassessment_triggers"]} == {
        str(t) for t in triggers
    }
    # The case's agency, learnt from the sessions service, governs access to its risk record.
    entry = await risk_app.state.service.case(CASE, wait=0)
    assert entry is not None and entry.agency == AGENCY
