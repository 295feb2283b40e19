"""R2 and R5 end to end, through the real broker: the consent service (its app, store and relay)
and the sessions service run side by side on one topic prefix; risk events come from a risk
event store and its relay. A withdrawal or a severe risk flag halts the running session, and
the SessionHalted names it (metadata causation id and `cause_event_id`); a withdrawal delivered
twice halts once; one consumed after the sessions runtime was stopped and restarted still halts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from bus_helpers import wait_until
from mend_consent.app import build as build_consent
from mend_events.catalog.risk import (
    AssessmentStage,
    DecisionReason,
    FlagCategory,
    PermittedForm,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecision,
    RiskFlagRaised,
    Severity,
)
from mend_events.cloudevents import to_message
from mend_events.contracts import DomainEvent
from mend_events.envelope import Metadata, NewEvent, RecordedEvent
from mend_events.identity_types import Role
from mend_events.relay import Relay
from mend_events.runtime import ServiceRuntime
from mend_events.settings import events_topic, kafka_options
from mend_events.store import EventStore
from mend_events.testing import drop_schema, make_schema, running_service
from mend_sessions.app import build as build_sessions

HP, RP = "hp-alice01", "rp-bob0001"
FAC, SURV, HSB, COORD = "prac-fac001", "prac-surv01", "prac-hsb001", "coord-dee01"
F2F = "face_to_face"
CASE = "case-e2e00001"
SESSION = "sess-0001"


class RiskService:
    """Stands in for the risk service: its event store and relay, on their own schema."""

    def __init__(self, store: EventStore, relay: Relay) -> None:
        self.store = store
        self.relay = relay

    async def append(self, case: str, *models: DomainEvent) -> list[UUID]:
        version = len(await self.store.read_stream(case))
        meta = Metadata(FAC, Role.PRACTITIONER, "agency-a", uuid4(), None, datetime.now(UTC))
        new = [NewEvent(uuid4(), m, meta) for m in models]
        await self.store.append(case, new, expected_version=version)
        return [n.event_id for n in new]

    async def assess(self, case: str, *permitted: PermittedForm) -> UUID:
        assessment = uuid4()
        ids = await self.append(
            case,
            RiskAssessmentStarted(assessment_id=assessment, stage=AssessmentStage.FULL),
            RiskAssessmentCompleted(
                assessment_id=assessment,
                decision=RiskDecision.PROCEED,
                permitted_forms=permitted,
                reasons=(DecisionReason.SUITABLE_WITH_SAFEGUARDS,),
                signed_off_by=SURV,
                valid_until=datetime.now(UTC) + timedelta(days=90),
            ),
        )
        return ids[-1]


@pytest.fixture
async def risk(platform, unique, topic_prefix, app_pool) -> AsyncIterator[RiskService]:
    schema = await make_schema(platform, None, f"risk_{unique}")
    store = EventStore(app_pool, schema, service="risk")
    relay = Relay(
        store, platform.database_url, platform.kafka_bootstrap, events_topic("risk", topic_prefix)
    )
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.active.wait(), 30)
    try:
        yield RiskService(store, relay)
    finally:
        relay.stop()
        await task
        await store.close()
        await drop_schema(platform, schema)


@pytest.fixture
async def consent(platform, unique, topic_prefix):
    async with running_service(
        build_consent, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as running:
        yield running


@contextlib.asynccontextmanager
async def sessions_on(platform, schema: str, topic_prefix: str):
    """A sessions runtime on an existing schema (so a test can stop it and start another)."""
    app, runtime = build_sessions(
        platform, schema=schema, topic_prefix=topic_prefix, max_consent_lag_ms=20_000
    )
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app, runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def sessions_schema(platform, unique) -> AsyncIterator[str]:
    schema = await make_schema(platform, "sessions", f"sessions_{unique}")
    yield schema
    await drop_schema(platform, schema)


@pytest.fixture
async def sessions(platform, sessions_schema, topic_prefix):
    async with sessions_on(platform, sessions_schema, topic_prefix) as running:
        yield running


@dataclass
class Platform:
    consent: Any
    sessions: Any
    risk: RiskService
    token: Any

    async def ok(self, client: httpx.AsyncClient, path: str, body: Any, headers: dict) -> dict:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    def hp(self) -> dict:
        return self.token("harmed_person", HP)

    def rp(self) -> dict:
        return self.token("responsible_person", RP)

    def fac(self) -> dict:
        return self.token("practitioner", FAC, cases=(CASE,))

    async def running_session(self) -> None:
        """A face-to-face meeting of the harmed and the responsible person, every gate met:
        consent given through the consent service, risk assessed in the risk store."""
        s, c = self.sessions[0], self.consent[0]
        coord = self.token("coordinator", COORD)
        for pid, level, specialisms in (
            (FAC, 2, []),
            (SURV, 1, ["survivor_specialist"]),
            (HSB, 1, ["hsb_specialist"]),
        ):
            body = {
                "practitioner_id": pid,
                "rj_trained": True,
                "sexual_harm_trained": True,
                "level": level,
                "specialisms": specialisms,
            }
            await self.ok(s, "/practitioners", body, coord)
        opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
        await self.ok(s, f"/cases/{CASE}/open", {**opening, "route": "self_referral"}, self.hp())
        await self.ok(s, f"/cases/{CASE}/facilitator", {"practitioner_id": FAC}, self.hp())
        prefs = {"min_gap_days": 7, "responsible_person_takes_part": True}
        await self.ok(s, f"/cases/{CASE}/preferences", prefs, self.hp())
        for person, role in ((HP, "harmed_person"), (RP, "responsible_person")):
            body = {"participant": {"id": person, "role": role}}
            await self.ok(s, f"/cases/{CASE}/preparations", body, self.fac())
        for person, headers in ((HP, self.hp()), (RP, self.rp())):
            for scope in ("take_part", f"contact:{F2F}"):
                body = {
                    "participant_id": person,
                    "scope": scope,
                    "informed_how": "both",
                    "no_incentive_attested": True,
                }
                await self.ok(c, f"/cases/{CASE}/consents", body, headers)
        ack = {"responsible_person_id": RP, "basis": "written_statement"}
        await self.ok(c, f"/cases/{CASE}/acknowledgements", ack, self.fac())
        await self.risk.assess(CASE, PermittedForm(form=F2F, with_responsible_person=True))
        session = {
            "session_id": SESSION,
            "form": F2F,
            "participants": [
                {"id": HP, "role": "harmed_person"},
                {"id": RP, "role": "responsible_person"},
            ],
            "facilitator_id": FAC,
            "team": [SURV, HSB],
            "scheduled_for": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        }
        # The guard waits until the consent and risk events above are consumed.
        await self.ok(s, f"/cases/{CASE}/sessions", session, self.hp())
        await self.ok(s, f"/cases/{CASE}/sessions/{SESSION}/start", None, self.fac())

    async def withdraw_face_to_face(self) -> UUID:
        body = {"participant_id": HP, "scope": f"contact:{F2F}"}
        result = await self.ok(self.consent[0], f"/cases/{CASE}/withdrawals", body, self.hp())
        assert result["events"][0]["type"] == "ConsentWithdrawn"
        return UUID(result["events"][0]["event_id"])


@pytest.fixture
def world(consent, sessions, risk, token) -> Platform:
    return Platform(consent, sessions, risk, token)


async def halts(runtime: ServiceRuntime, case: str = CASE) -> list[RecordedEvent]:
    assert runtime.store is not None
    return [e for e in await runtime.store.read_stream(case) if e.event_type == "SessionHalted"]


async def halted_once(runtime: ServiceRuntime) -> RecordedEvent:
    found = await wait_until(lambda: halts(runtime), timeout=30)
    assert len(found) == 1, found
    return found[0]


def assert_caused_by(halt: RecordedEvent, cause: UUID, kind: str) -> None:
    assert halt.metadata.causation_id == cause  # the envelope names the cause...
    assert halt.data["cause_event_id"] == str(cause)  # ...and so does the fact itself (R9)
    assert halt.data["cause"] == kind
    assert halt.data["session_id"] == SESSION
    assert halt.metadata.role == Role.SYSTEM and halt.data["halted_by_id"] is None


# --------------------------------------------------------------------------------------------


async def test_a_withdrawal_while_running_halts_the_session_naming_it(world):
    await world.running_session()
    withdrawal = await world.withdraw_face_to_face()
    halt = await halted_once(world.sessions[2])
    assert_caused_by(halt, withdrawal, "consent_withdrawn")
    # And the session can never start again on that consent.
    client = world.sessions[0]
    r = await client.post(f"/cases/{CASE}/sessions/{SESSION}/start", headers=world.fac())
    assert r.status_code == 422


async def test_a_severe_risk_flag_halts_the_running_session_naming_it(world):
    await world.running_session()
    flag = RiskFlagRaised(
        flag_id=uuid4(), severity=Severity.SEVERE, category=FlagCategory.SAFETY_THREAT, affects=None
    )
    (raised,) = await world.risk.append(CASE, flag)
    halt = await halted_once(world.sessions[2])
    assert_caused_by(halt, raised, "risk_flag")


async def test_a_decision_that_no_longer_permits_the_form_halts_it(world):
    await world.running_session()
    decided = await world.risk.assess(
        CASE, PermittedForm(form="indirect", with_responsible_person=True)
    )
    halt = await halted_once(world.sessions[2])
    assert_caused_by(halt, decided, "risk_decision")


async def test_a_withdrawal_delivered_twice_halts_once(world, platform, topic_prefix):
    await world.running_session()
    withdrawal = await world.withdraw_face_to_face()
    _, app, runtime = world.sessions
    first = await halted_once(runtime)
    consent_store = world.consent[2].store
    event = next(e for e in await consent_store.read_stream(CASE) if e.event_id == withdrawal)
    # 1. The broker delivers it again (a producer retry, a relay restarted before its
    #    checkpoint): the inbox recognises it.
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()
    try:
        key, value, headers = to_message(event)
        sent = await producer.send_and_wait(
            events_topic("consent", topic_prefix), value, key=key, headers=headers
        )
    finally:
        await producer.stop()
    group = runtime.group_of("consent")

    async def consumed() -> bool:
        async with runtime.pool.acquire() as conn:
            done = await conn.fetchval(
                f"SELECT processed_offset FROM {runtime.schema}.consumer_positions "
                f"WHERE consumer = $1 AND topic = $2 AND kafka_partition = $3",
                group,
                sent.topic,
                sent.partition,
            )
        return done is not None and done >= sent.offset

    await wait_until(consumed, timeout=30)
    # 2. The handler runs again outside the inbox, as after a crash between the halt's commit
    #    and the inbox's: the halt's derived ids and the idempotent decision write nothing.
    async with runtime.pool.acquire() as conn, conn.transaction():
        await app.state.reactions.on_consent(conn, event)
    assert [h.event_id for h in await halts(runtime)] == [first.event_id]


async def test_a_withdrawal_consumed_after_a_restart_still_halts(
    consent, risk, token, platform, sessions_schema, topic_prefix
):
    async with sessions_on(platform, sessions_schema, topic_prefix) as running:
        world = Platform(consent, running, risk, token)
        await world.running_session()
    # The sessions service is down: the withdrawal is accepted and published all the same.
    withdrawal = await world.withdraw_face_to_face()
    async with sessions_on(platform, sessions_schema, topic_prefix) as restarted:
        halt = await halted_once(restarted[2])
        assert_caused_by(halt, withdrawal, "consent_withdrawn")
