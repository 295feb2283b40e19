"""R2 and R5 end to end, through the real broker: the consent service (its app, store and relay)
and the sessions service run side by side on one topic prefix; risk events come from a risk
event store and its relay. A withdrawal or a severe risk flag halts the running session, and
the SessionHalted names it (metadata causation id and `cause_event_id`); a withdrawal delivered
twice halts once; one consumed after the sessions runtime was stopped and restarted still halts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
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
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    DecisionReason,
    FlagCategory,
    PermittedForm,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecision,
    RiskFlagRaised,
    SafetyPlanAgreed,
    Severity,
)
from mend_events.contracts.envelope import Metadata, NewEvent, RecordedEvent
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay
from mend_events.store import EventStore
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocate
from mend_testkit.fixtures import drop_schema, make_schema, service_fixture, started
from mend_testkit.samples import consent_body, practitioner_body

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
            # Direct contact waits for a safety plan agreed with the harmed person.
            SafetyPlanAgreed(
                assessment_id=assessment, agreed_with=HP, separate_arrival_departure=True,
                support_person_present=True, breaks=True, exit_plan=True, code_word_set=False,
            ),
        )  # fmt: skip
        return ids[-2]


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


# The lapse sweep left to the tests (an hour apart).
consent = service_fixture(build_consent, "consent", lapse_interval=3600)


@contextlib.asynccontextmanager
async def sessions_on(platform, schema: str, topic_prefix: str):
    """A sessions runtime on an existing schema (so a test can stop it and start another)."""
    app, runtime = build_sessions(
        platform, schema=schema, topic_prefix=topic_prefix, max_consent_lag_ms=20_000
    )
    async with started(app, runtime) as running:
        yield running


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

    def fac(self, case: str = CASE) -> dict:
        return self.token("practitioner", FAC)  # allocated in `ready_case`

    async def running_session(self) -> None:
        """A face-to-face meeting of the harmed and the responsible person, every gate met:
        consent given through the consent service, risk assessed in the risk store."""
        await self.register_practitioners()
        await self.ready_case(CASE, SESSION)
        await self.ok(self.sessions[0], f"/cases/{CASE}/sessions/{SESSION}/start", None, self.fac())

    async def register_practitioners(self) -> None:
        s = self.sessions[0]
        coord = self.token("coordinator", COORD)
        for pid, level, specialisms in (
            (FAC, 2, []),
            (SURV, 1, ["survivor_specialist"]),
            (HSB, 1, ["hsb_specialist"]),
        ):
            await self.ok(s, "/practitioners", practitioner_body(pid, level, specialisms), coord)

    async def ready_case(self, case: str, session_id: str) -> None:
        """A case with a face-to-face meeting scheduled, every gate met: it may start now."""
        s, c = self.sessions[0], self.consent[0]
        opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
        await self.ok(s, f"/cases/{case}/open", {**opening, "route": "self_referral"}, self.hp())
        await self.ok(s, f"/cases/{case}/facilitator", {"practitioner_id": FAC}, self.hp())
        await allocate([self.sessions[2], self.consent[2]], case, FAC)  # the hub's allocation
        prefs = {"min_gap_days": 7, "responsible_person_takes_part": True, "invited": [RP]}
        await self.ok(s, f"/cases/{case}/preferences", prefs, self.hp())
        enrol = {"person_id": RP, "role": "responsible_person"}
        await self.ok(s, f"/cases/{case}/participants", enrol, self.fac(case))
        # The consent service learns of the case and its members over the broker.
        consent_service = self.consent[1].state.service

        async def rp_takes_part() -> bool:
            entry = await consent_service.case(case, wait=0)
            return entry is not None and RP in entry.members

        await wait_until(rp_takes_part, timeout=60)
        for person, role in ((HP, "harmed_person"), (RP, "responsible_person")):
            body = {"participant": {"id": person, "role": role}}
            await self.ok(s, f"/cases/{case}/preparations", body, self.fac(case))
        for person, headers in ((HP, self.hp()), (RP, self.rp())):
            for scope in ("take_part", f"contact:{F2F}"):
                await self.ok(c, f"/cases/{case}/consents", consent_body(person, scope), headers)
        ack = {"responsible_person_id": RP, "basis": "written_statement"}
        await self.ok(c, f"/cases/{case}/acknowledgements", ack, self.fac(case))
        await self.risk.assess(case, PermittedForm(form=F2F, with_responsible_person=True))
        await wait_until(lambda: self.risk_seen(case))
        session = {
            "session_id": session_id,
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
        await self.ok(s, f"/cases/{case}/sessions", session, self.hp())

    async def risk_seen(self, case: str) -> bool:
        """Sessions has consumed the case's assessment (the risk relay may lag behind its
        store, and the consistency guard waits only for what the broker already holds)."""
        _, app, runtime = self.sessions
        async with runtime.pool.acquire() as conn:
            view = app.state.reactions.risk
            return bool(await view.permitted(conn, case, datetime.now(UTC))) and bool(
                await view.safety_plans(conn, case)
            )

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


async def consumed_by_sessions(world: Platform) -> bool:
    """Sessions has applied every event the consent service has stored (one case: one
    partition, whose offsets follow the store's order)."""
    consent_runtime, runtime = world.consent[2], world.sessions[2]
    stored = len(await consent_runtime.store.read_all(limit=100_000))
    async with runtime.pool.acquire() as conn:
        done = await conn.fetchval(
            f"SELECT max(processed_offset) FROM {runtime.schema}.consumer_positions "
            f"WHERE consumer = $1",
            runtime.group_of("consent"),
        )
    return done is not None and done >= stored - 1


async def test_forty_concurrent_withdrawals_on_one_case_are_all_accepted_and_halt_once(world):
    """R2: however many people write to a case at once, a withdrawal is accepted (contention
    delays it, never refuses it), and the session it stops is halted exactly once."""
    await world.running_session()
    c = world.consent[0]
    scopes = ("take_part", f"contact:{F2F}", "contact:indirect", "progress_updates")
    for person, headers in ((HP, world.hp()), (RP, world.rp())):
        for scope in scopes[2:]:
            await world.ok(c, f"/cases/{CASE}/consents", consent_body(person, scope), headers)
    asks = [
        (person, headers, scope)
        for person, headers in ((HP, world.hp()), (RP, world.rp()))
        for scope in scopes
    ]

    async def withdraw(n: int) -> int:
        person, headers, scope = asks[n % len(asks)]
        body = {"participant_id": person, "scope": scope}
        r = await c.post(f"/cases/{CASE}/withdrawals", json=body, headers=headers)
        return r.status_code

    codes = await asyncio.gather(*(withdraw(n) for n in range(40)))
    assert [code for code in codes if code not in (200, 201)] == []
    withdrawn = [
        e
        for e in await world.consent[2].store.read_stream(CASE)
        if e.event_type == "ConsentWithdrawn"
    ]
    assert len(withdrawn) == len(asks)  # each grant withdrawn once, however often asked
    await wait_until(lambda: consumed_by_sessions(world), timeout=60)
    halted = await halts(world.sessions[2])
    assert [h.data["session_id"] for h in halted] == [SESSION]
    assert halted[0].metadata.causation_id in {e.event_id for e in withdrawn}


async def test_while_requests_hold_every_connection_reactions_apply_and_requests_get_503(
    world,
):
    """Reactions have connections of their own (R2), and the store's reads and appends too:
    with every request connection of the sessions service taken, a withdrawal still halts the
    running session, and a request that needs a connection is answered 503 (with a reason)
    after a bounded wait instead of queueing for ever."""
    await world.running_session()
    client, _, runtime = world.sessions
    held = [await runtime.pool.acquire() for _ in range(runtime.pool.get_max_size())]
    try:
        withdrawal = await world.withdraw_face_to_face()
        halt = await asyncio.wait_for(halted_once(runtime), timeout=40)
        assert_caused_by(halt, withdrawal, "consent_withdrawn")
        r = await asyncio.wait_for(client.get(f"/cases/{CASE}", headers=world.fac()), 30)
        assert r.status_code == 503
        assert r.json()["error"] == "unavailable" and r.json()["reason"]
    finally:
        for conn in held:
            await runtime.pool.release(conn)
    r = await client.get(f"/cases/{CASE}", headers=world.fac())
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------------------------
# Under load (issue 14 item 12): the sessions service never seizes, and R2 holds meanwhile.

BURST_CASES = 50


async def running_sessions(conn, schema: str, case: str) -> list[str]:
    """Sessions of `case` started and not ended, read straight from the sessions store (on a
    connection of the test's own, so a seized service cannot hide them)."""
    rows = await conn.fetch(
        f"SELECT event_type, data->>'session_id' AS session FROM {schema}.events "
        f"WHERE stream_id = $1 ORDER BY stream_version",
        case,
    )
    running: set[str] = set()
    for row in rows:
        if row["event_type"] == "SessionStarted":
            running.add(row["session"])
        elif row["event_type"] in ("SessionHalted", "SessionCompleted"):
            running.discard(row["session"])
    return sorted(running)


@pytest.mark.fault
async def test_a_burst_of_starts_with_withdrawals_in_the_middle_never_seizes_the_service(
    world, admin_conn
):
    """100 concurrent starts (each sent twice, as a retrying client does) on 50 ready cases,
    and a withdrawal on each case in the middle of them: every request is answered (a start
    may be refused or asked to try again, never left hanging), the service still opens new
    cases, every withdrawal is applied, and no session runs on withdrawn consent 2 s after
    its withdrawal was accepted."""
    await world.register_practitioners()
    cases = [f"case-load{n:05d}" for n in range(BURST_CASES)]
    for i in range(0, len(cases), 10):
        await asyncio.gather(*(world.ready_case(case, SESSION) for case in cases[i : i + 10]))
    s, c = world.sessions[0], world.consent[0]
    _, app, runtime = world.sessions
    accepted: dict[str, float] = {}

    async def start(case: str) -> int:
        r = await s.post(f"/cases/{case}/sessions/{SESSION}/start", headers=world.fac(case))
        return r.status_code

    async def withdraw(case: str) -> int:
        body = {"participant_id": HP, "scope": f"contact:{F2F}"}
        r = await c.post(f"/cases/{case}/withdrawals", json=body, headers=world.hp())
        if r.status_code == 201:
            accepted[case] = time.monotonic()
        return r.status_code

    async def still_answering() -> list[int]:
        await asyncio.sleep(0.2)
        opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
        body = {**opening, "route": "self_referral"}
        opened = await s.post("/cases/case-loadnew1/open", json=body, headers=world.hp())
        health = await s.get("/health")
        return [opened.status_code, health.status_code]

    async def burst() -> tuple[list[int], list[int], list[int]]:
        starts = [asyncio.create_task(start(case)) for case in cases for _ in range(2)]
        await asyncio.sleep(0.05)  # the withdrawals arrive in the middle of the starts
        withdrawals = [asyncio.create_task(withdraw(case)) for case in cases]
        probe = await still_answering()
        return list(await asyncio.gather(*starts)), list(await asyncio.gather(*withdrawals)), probe

    try:
        started, withdrawn, probe = await asyncio.wait_for(burst(), timeout=90)
    except TimeoutError:
        # The service seized: let the fixture's stop end instead of waiting on it for ever.
        runtime.pool.terminate()
        raise AssertionError("the sessions service stopped answering under the burst") from None
    assert withdrawn == [201] * BURST_CASES  # R2: never refused
    assert probe == [201, 200]
    assert set(started) <= {200, 201, 422, 503}, started
    assert {200, 201, 422} & set(started)  # the burst reached the gates

    # No session runs on withdrawn consent 2 s after the withdrawal was accepted.
    late: list[str] = []
    for case, at in sorted(accepted.items(), key=lambda kv: kv[1]):
        await asyncio.sleep(max(0.0, at + 2.0 - time.monotonic()))
        if await running_sessions(admin_conn, runtime.schema, case):
            late.append(case)
    assert late == []
    # Every withdrawal was applied by sessions (its view of consent no longer covers it).
    now = datetime.now(UTC)
    consent_view = app.state.reactions.consent
    for case in cases:
        covered = await consent_view.covered_forms(admin_conn, case, now)
        assert F2F not in covered.get(HP, frozenset()), case
    # And the service is well afterwards: a new case opens, a start is answered at once.
    opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
    body = {**opening, "route": "self_referral"}
    r = await asyncio.wait_for(
        s.post("/cases/case-loadnew2/open", json=body, headers=world.hp()), timeout=10
    )
    assert r.status_code == 201, r.text
