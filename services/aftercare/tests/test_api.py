"""The aftercare service on the real broker and database, with the consent service running for
real on the same topics and sessions events appended to a real sessions store and relayed.

Sessions events are appended directly (an EventStore on a `sessions_<unique>` schema and a
Relay to `<prefix>sessions.events.v1`): a SessionHalted through the sessions API would need the
whole gate sequence (risk assessment included) and nothing of it is under test here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from bus_helpers import wait_until
from mend_aftercare.app import build
from mend_aftercare.read_models import ConsentFacts
from mend_consent.app import build as build_consent
from mend_events.app.db import create_pool
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import ConsentWithdrawn, GrantRef, WithdrawalTarget
from mend_events.contracts.catalog.sessions import (
    AgreedCommitment,
    AgreementItem,
    AgreementReached,
    HaltCause,
    ParticipantEnrolled,
    ParticipantRole,
    SessionCompleted,
    SessionHalted,
)
from mend_events.contracts.envelope import Metadata, NewEvent, RecordedEvent
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import PARTITIONS, ensure_topics
from mend_events.store import EventStore
from mend_testkit.directory import allocate
from mend_testkit.fixtures import drop_schema, make_schema, running_service
from mend_testkit.samples import case_opened, consent_body, consent_given, delivered

HP, RP, PRAC = "hp-alice01", "rp-bob0001", "prac-carol1"
AUDITOR, COORD = "aud-dave01", "coord-erin1"
CASE = "case-0001aa"
AGENCY = "agency-a"


# --- the platform around aftercare -------------------------------------------------------------


class Sessions:
    """Real sessions events: appended to a sessions store, relayed to the sessions topic."""

    def __init__(self, platform, unique: str, prefix: str) -> None:
        self.platform, self.name, self.prefix = platform, f"sessions_{unique}", prefix
        self.known_by: list = []  # () -> a service with `case(case_id, wait=...)`

    async def start(self) -> None:
        await make_schema(self.platform, None, self.name)
        self.pool = await create_pool(self.platform.database_url)
        self.store = EventStore(self.pool, self.name, service="sessions")
        self.relay = Relay(
            self.store,
            self.platform.database_url,
            self.platform.kafka_bootstrap,
            events_topic("sessions", self.prefix),
        )
        self.task = asyncio.create_task(self.relay.run())

    async def append(self, case_id: str, event, who: str = PRAC, role: Role = Role.PRACTITIONER):
        version = len(await self.store.read_stream(case_id))
        meta = Metadata(who, role, AGENCY, uuid4(), None, datetime.now(UTC))
        new = NewEvent(uuid4(), event, meta)
        await self.store.append(case_id, [new], expected_version=version)
        return new.event_id

    async def open_case(self, case_id: str = CASE, hp: str = HP) -> UUID:
        """Open the case and enrol RP (the harmed person agreed), then wait until every
        service in `known_by` has taken both in from the broker."""
        opened = case_opened(hp, AGENCY)
        event_id = await self.append(case_id, opened, hp, Role.HARMED_PERSON)
        enrolled = ParticipantEnrolled(person_id=RP, role=ParticipantRole.RESPONSIBLE_PERSON)
        await self.append(case_id, enrolled)
        for service in self.known_by:

            async def known(service=service) -> bool:
                entry = await service().case(case_id, wait=0)
                return entry is not None and RP in entry.members

            await wait_until(known)
        return event_id

    async def halt(self, case_id: str = CASE, session: str = "sess-0001", **kw) -> UUID:
        halted = SessionHalted(
            session_id=session,
            halted_by_id=kw.get("by", HP),
            halted_by_role=kw.get("role", Role.HARMED_PERSON),
            cause=kw.get("cause", HaltCause.PARTICIPANT_HALT),
            cause_event_id=kw.get("cause_event_id"),
        )
        return await self.append(case_id, halted)

    async def agree(self, case_id: str = CASE, n: int = 2) -> UUID:
        codes = [
            AgreedCommitment.THERAPEUTIC_TREATMENT,
            AgreedCommitment.NO_CONTACT,
            AgreedCommitment.BEHAVIOUR_PROGRAMME,
            AgreedCommitment.REPARATION,
        ]
        items = tuple(
            AgreementItem(
                owner_id=RP,
                commitment=codes[i % 4],
                due_on=date(2031, 1, 1) if i % 2 == 0 else None,
            )
            for i in range(n)
        )
        return await self.append(
            case_id, AgreementReached(session_id="sess-0002", items=items, consented_by=(HP, RP))
        )

    async def stop(self) -> None:
        self.relay.stop()
        await self.task
        await self.store.close()
        await self.pool.close()
        await drop_schema(self.platform, self.name)


class Aftercare:
    """The aftercare app and runtime on one schema, which survives a restart."""

    def __init__(self, platform, unique: str, prefix: str) -> None:
        self.platform, self.schema, self.prefix = platform, f"aftercare_{unique}", prefix

    async def start(self) -> None:
        await make_schema(self.platform, "aftercare", self.schema)
        # The sender is driven by the tests (`drain`), so every step is deterministic.
        self.app, self.runtime = build(
            self.platform,
            schema=self.schema,
            topic_prefix=self.prefix,
            send_updates=False,
            delivery_hold=0,
        )
        await self.runtime.start()
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test")

    @property
    def service(self):
        return self.app.state.service

    @property
    def peers(self) -> list:
        """The runtimes whose trust models the hub's allocations reach (consent's and ours)."""
        return [self.consent_runtime, self.runtime]

    async def stop(self) -> None:
        await self.client.aclose()
        await self.runtime.stop()

    async def events(self, event_type: str) -> list[dict]:
        async with self.runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT stream_id, event_id, data, metadata FROM {self.schema}.events "
                f"WHERE event_type = $1 ORDER BY global_position",
                event_type,
            )
        return [dict(r) for r in rows]

    async def deliveries(self) -> list[dict]:
        async with self.runtime.pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT * FROM {self.schema}.deliveries ORDER BY shared_at")
        return [dict(r) for r in rows]

    async def updates_consent(self, case_id: str = CASE, person: str = HP) -> bool:
        return await self.service.consent_in_force(case_id, person, "progress_updates")

    async def drain(self) -> int:
        """Bring the progress outbox to rest: requests, shares, deliveries."""
        await self.runtime.settle()
        await self.service.share_pending()
        await self.runtime.settle()
        return await self.service.deliver_pending()


@pytest.fixture
async def world(parts):
    sessions, consent, _, aftercare = parts
    return sessions, consent, aftercare


@pytest.fixture
async def parts(platform, unique, topic_prefix):
    """The world, with the consent service's runtime (to hold back its relay)."""
    await ensure_topics(
        platform.kafka_bootstrap, ["consent", "sessions", "aftercare"], prefix=topic_prefix
    )
    sessions = Sessions(platform, unique, topic_prefix)
    await sessions.start()
    aftercare = Aftercare(platform, unique, topic_prefix)
    try:
        async with running_service(
            build_consent, "consent", platform, unique, topic_prefix, lapse_interval=3600
        ) as (consent, consent_app, consent_runtime):
            await aftercare.start()
            sessions.known_by = [lambda: consent_app.state.service, lambda: aftercare.service]
            # The facilitator allocated to the case by the hub, in both services' trust models.
            aftercare.consent_runtime = consent_runtime
            await allocate(aftercare.peers, CASE, PRAC)
            try:
                yield sessions, consent, consent_runtime, aftercare
            finally:
                await aftercare.stop()
    finally:
        await drop_schema(platform, aftercare.schema)
        await sessions.stop()


def give(scope: str, participant: str = HP) -> dict:
    return consent_body(participant, scope)


async def consent_to(consent, token, scope: str, person: str = HP, case: str = CASE) -> None:
    role = "harmed_person" if person.startswith("hp") else "responsible_person"
    r = await consent.post(
        f"/cases/{case}/consents", json=give(scope, person), headers=token(role, person)
    )
    assert r.status_code == 201, r.text


async def withdraw(consent, headers, scope: str, person: str = HP, case: str = CASE) -> UUID:
    r = await consent.post(
        f"/cases/{case}/withdrawals",
        json={"participant_id": person, "scope": scope},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return UUID(r.json()["events"][0]["event_id"])


async def offers_by_chain(aftercare) -> dict[UUID, list[dict]]:
    """Offers by the event that began their cause chain (the cause itself, or its root)."""
    by_chain: dict[UUID, list[dict]] = {}
    for e in await aftercare.events("AftercareOffered"):
        data = e["data"]
        root = data.get("root_cause_event_id") or data["cause_event_id"]
        by_chain.setdefault(UUID(root), []).append(e)
    return by_chain


def assert_one_offer_each(by_chain: dict[UUID, list[dict]], chains: set[UUID]) -> None:
    assert set(by_chain) == chains
    for chain, offers in by_chain.items():
        assert len(offers) == 1, (chain, offers)
        meta = offers[0]["metadata"]
        # The offer names the event it answered (R2, R9), which is of this chain.
        assert meta["causation_id"] == offers[0]["data"]["cause_event_id"]
        assert meta["role"] == "system" and meta["actor_id"] == "svc-aftercare"
        assert offers[0]["data"]["harmed_person_id"] == HP


async def consumed(aftercare) -> int:
    return sum(c.processed for c in aftercare.runtime.consumers)


async def topic_records(platform, prefix: str, services: list[str]) -> list:
    """Every message now on these services' topics."""
    consumer = AIOKafkaConsumer(**kafka_options(platform.kafka_bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(events_topic(s, prefix), p) for s in services for p in range(PARTITIONS)
        ]  # the fixture created the topics
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list = []
        while len(records) < sum(ends.values()):
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


# --- after-care offered after every halt and every harmed person's withdrawal -------------------


async def test_one_offer_per_halt_and_withdrawal_even_redelivered_or_after_restart(
    world, token, platform, topic_prefix, admin_conn
):
    sessions, consent, aftercare = world
    hp = token("harmed_person", HP)
    await sessions.open_case()
    for scope in ("take_part", "contact:letter", "progress_updates"):
        await consent_to(consent, token, scope)
    await consent_to(consent, token, "take_part", RP)
    # The harmed person withdraws one scope themself; a practitioner relays another for them;
    # the responsible person's withdrawal is no cause for the harmed person's after-care.
    own = await withdraw(consent, hp, "progress_updates")
    relayed = await withdraw(consent, token("practitioner", PRAC), "contact:letter")
    await withdraw(consent, token("responsible_person", RP), "take_part", RP)
    halted = await sessions.halt()
    await sessions.halt(  # caused by `own`: of its chain
        session="sess-0003",
        by=None,
        role=Role.SYSTEM,
        cause=HaltCause.CONSENT_WITHDRAWN,
        cause_event_id=own,
    )
    completed = await sessions.append(CASE, SessionCompleted(session_id="sess-0002"))
    await sessions.agree(n=3)
    # The halt that `own` caused is of its chain: one offer for both, whichever came first.
    causes = {own, relayed, halted, completed}

    async def offered_all():
        return set(await offers_by_chain(aftercare)) == causes

    await wait_until(offered_all)
    records = await topic_records(platform, topic_prefix, ["consent", "sessions"])
    await wait_until(lambda: _at_least(consumed(aftercare), len(records)))
    assert_one_offer_each(await offers_by_chain(aftercare), causes)
    assert len(await aftercare.events("CommitmentRecorded")) == 3

    # Delivered twice: every message of both topics published again, as it was.
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    try:
        for r in records:
            await producer.send_and_wait(
                r.topic, r.value, key=r.key, headers=list(r.headers), partition=r.partition
            )
    finally:
        await producer.stop()
    await wait_until(lambda: _at_least(consumed(aftercare), 2 * len(records)))
    assert_one_offer_each(await offers_by_chain(aftercare), causes)
    assert len(await aftercare.events("CommitmentRecorded")) == 3

    # A restart as after a crash between the offer's append and the inbox commit: no inbox
    # rows, offsets back to the start, a fresh process (empty caches). Meanwhile a new halt.
    await aftercare.stop()
    await admin_conn.execute(f"DELETE FROM {aftercare.schema}.inbox")
    for name in ("consent", "sessions"):
        await rewind(platform, f"{topic_prefix}aftercare.{name}", events_topic(name, topic_prefix))
    later = await sessions.halt(session="sess-0004")
    await aftercare.start()
    records = await topic_records(platform, topic_prefix, ["consent", "sessions"])
    await wait_until(lambda: _at_least(consumed(aftercare), len(records)))
    assert_one_offer_each(await offers_by_chain(aftercare), causes | {later})
    # Every message was handled afresh (the inbox was empty), and still wrote nothing twice.
    inbox = await admin_conn.fetchval(f"SELECT count(*) FROM {aftercare.schema}.inbox")
    assert inbox == len({dict(r.headers)["ce_id"] for r in records})
    assert len(await aftercare.events("CommitmentRecorded")) == 3
    offered = await aftercare.client.get(f"/cases/{CASE}/aftercare", headers=hp)
    assert offered.status_code == 200 and offered.json()["status"] == "offered"


@pytest.mark.parametrize("first", ["withdrawal", "halt"])
async def test_a_withdrawal_and_the_halt_it_caused_offer_once_in_either_order(
    parts, token, platform, topic_prefix, first
):
    """One cause, one offer: the withdrawal (consent topic) and the SessionHalted it caused
    (sessions topic) reach after-care in either order; the survivor is offered support once,
    and the audit keeps the whole chain (the offer names the event it answered and the root)."""
    sessions, consent, consent_runtime, aftercare = parts
    await sessions.open_case()
    for scope in ("take_part", "contact:face_to_face"):
        await consent_to(consent, token, scope)
    relay = consent_runtime.relay
    if first == "halt":
        # The consent service's relay is behind: the withdrawal is stored and answered, and
        # reaches the broker only after the halt it caused has been offered for.
        relay.stop()
        await wait_until(lambda: _true(not relay.active.is_set()))
    withdrawal = await withdraw(consent, token("harmed_person", HP), "contact:face_to_face")
    if first == "withdrawal":
        await wait_until(lambda: offers_by_chain(aftercare))
    halt = await sessions.halt(
        by=None, role=Role.SYSTEM, cause=HaltCause.CONSENT_WITHDRAWN, cause_event_id=withdrawal
    )
    later = None
    if first == "halt":
        await wait_until(lambda: offers_by_chain(aftercare))
        later = Relay(
            consent_runtime.store,
            platform.database_url,
            platform.kafka_bootstrap,
            events_topic("consent", topic_prefix),
        )
        task = asyncio.create_task(later.run())
    try:

        async def both_published() -> list:
            records = await topic_records(platform, topic_prefix, ["consent", "sessions"])
            published = {dict(r.headers)["ce_id"].decode() for r in records}
            return records if {str(withdrawal), str(halt)} <= published else []

        records = await wait_until(both_published)
        await wait_until(lambda: _at_least(consumed(aftercare), len(records)))
    finally:
        if later is not None:
            later.stop()
            await task
    by_chain = await offers_by_chain(aftercare)
    assert_one_offer_each(by_chain, {withdrawal})
    (offer,) = by_chain[withdrawal]
    answered = halt if first == "halt" else withdrawal
    assert offer["data"]["cause_event_id"] == str(answered)
    r = await aftercare.client.get(f"/cases/{CASE}/aftercare", headers=token("practitioner", PRAC))
    assert r.status_code == 200, r.text
    (listed,) = r.json()["offers"]
    assert listed["cause_event_id"] == str(answered) and listed["chain"] == str(withdrawal)


async def _true(value: bool) -> bool:
    return value


async def _at_least(value, n: int) -> bool:
    return await value >= n


async def rewind(platform, group: str, topic: str) -> None:
    """Commit offset 0 for every partition of `topic` in `group` (the group has no members)."""
    consumer = AIOKafkaConsumer(
        **kafka_options(platform.kafka_bootstrap), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()


# --- progress updates: only with consent, and never after a withdrawal -------------------------


async def ready_for_updates(
    sessions, consent, aftercare, token, *, consent_given=True, level="each_update", n=2
) -> list[UUID]:
    """A case with an offer, an agreement of `n` commitments, the harmed person's choices."""
    await sessions.open_case()
    if consent_given:
        await consent_to(consent, token, "progress_updates")
    await sessions.halt()
    await sessions.agree(n=n)

    async def recorded():
        state, _ = await aftercare.service.commands.load(CASE)
        return (
            len(state.commitments) == n
            and state.offers
            and (await aftercare.updates_consent() == consent_given)
        )

    await wait_until(recorded)
    if level:
        r = await aftercare.client.post(
            f"/cases/{CASE}/aftercare/progress-update-preference",
            json={"level": level},
            headers=token("harmed_person", HP),
        )
        assert r.status_code == 201, r.text
    state, _ = await aftercare.service.commands.load(CASE)
    return sorted(state.commitments)


async def complete(aftercare, token, commitment_id: UUID, path: str = "completion") -> None:
    r = await aftercare.client.post(
        f"/cases/{CASE}/aftercare/commitments/{commitment_id}/{path}",
        headers=token("practitioner", PRAC),
    )
    assert r.status_code == 201, r.text


async def updates_seen(aftercare, token) -> list[dict]:
    r = await aftercare.client.get(
        f"/cases/{CASE}/aftercare/progress-updates", headers=token("harmed_person", HP)
    )
    assert r.status_code == 200, r.text
    return r.json()["updates"]


async def test_updates_reach_only_a_consenting_harmed_person(world, token):
    sessions, consent, aftercare = world
    first, second = await ready_for_updates(sessions, consent, aftercare, token)
    await complete(aftercare, token, first)
    assert await aftercare.drain() == 1
    assert [(u["commitment_id"], u["status"]) for u in await updates_seen(aftercare, token)] == [
        (str(first), "completed")
    ]

    # Withdrawn before the next update: it is never shared, let alone delivered.
    await withdraw(consent, token("harmed_person", HP), "progress_updates")
    await wait_until(lambda: _false(aftercare.updates_consent()))
    await complete(aftercare, token, second, "non-completion")
    assert await aftercare.drain() == 0
    assert len(await aftercare.events("ProgressUpdateShared")) == 1
    assert len(await updates_seen(aftercare, token)) == 1


async def _false(value) -> bool:
    return not await value


@pytest.mark.parametrize("consent_given,level", [(False, "each_update"), (True, None)])
async def test_no_update_without_opting_in(world, token, consent_given, level):
    """No consent to receive updates, or consent but no chosen level: nothing is shared."""
    sessions, consent, aftercare = world
    first, _ = await ready_for_updates(
        sessions, consent, aftercare, token, consent_given=consent_given, level=level
    )
    await complete(aftercare, token, first)
    assert await aftercare.drain() == 0
    assert await aftercare.events("ProgressUpdateShared") == []
    assert await aftercare.deliveries() == []
    assert await updates_seen(aftercare, token) == []


async def test_withdrawal_arriving_while_updates_are_sent(world, token):
    """Three updates released; the withdrawal arrives (through the broker) while the first is
    being delivered: the two after it are withheld, and the harmed person sees one."""
    sessions, consent, aftercare = world
    commitments = await ready_for_updates(sessions, consent, aftercare, token, n=3)
    for commitment_id in commitments:
        await complete(aftercare, token, commitment_id)
    await aftercare.runtime.settle()
    assert await aftercare.service.share_pending() == 3
    await aftercare.runtime.settle()
    assert [d["state"] for d in await aftercare.deliveries()] == ["pending"] * 3

    sent = []

    async def channel(delivery):
        sent.append(delivery)
        if len(sent) == 1:  # the harmed person withdraws now, mid-sending
            await withdraw(consent, token("harmed_person", HP), "progress_updates")
            await wait_until(lambda: _false(aftercare.updates_consent()))

    aftercare.service.on_delivered = channel
    assert await aftercare.service.deliver_pending() == 1
    deliveries = await aftercare.deliveries()
    assert [d["state"] for d in deliveries] == ["sent", "withheld", "withheld"]
    assert {d["withheld_because"] for d in deliveries[1:]} == {"consent_not_in_force"}
    assert len(sent) == 1
    assert [u["delivery_id"] for u in await updates_seen(aftercare, token)] == [
        str(sent[0].delivery_id)
    ]


async def test_delivery_and_withdrawal_serialise_on_the_consent_row(world, token, admin_conn):
    """The design's serialisation point, both ways, with the consumer's own projection code:
    a withdrawal whose transaction is open when a delivery checks makes the delivery wait and
    then withhold it; a delivery that checked first makes the withdrawal wait for its commit."""
    sessions, consent, aftercare = world
    first, second = await ready_for_updates(sessions, consent, aftercare, token)
    grants = (
        await consent.get(f"/cases/{CASE}/consents", headers=token("harmed_person", HP))
    ).json()["grants"]
    grant = UUID(next(g["grant_id"] for g in grants if g["scope"] == "progress_updates"))
    facts = ConsentFacts(aftercare.schema)
    service = aftercare.service

    async def pending_delivery(commitment_id):
        await complete(aftercare, token, commitment_id)
        await aftercare.runtime.settle()
        await service.share_pending()
        await aftercare.runtime.settle()

    async def waiting_on_lock(n: int = 1):
        return (
            await admin_conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE $1",
                f"%{aftercare.schema}.consent_subjects%",
            )
            >= n
        )

    # 1. Delivery first: it holds the consent row while deciding; the withdrawal waits.
    await pending_delivery(first)
    deciding, release = asyncio.Event(), asyncio.Event()
    load = service.commands.load

    async def slow_load(stream_id, **kw):  # called inside the delivery transaction
        deciding.set()
        await release.wait()
        return await load(stream_id, **kw)

    service.commands.load = slow_load
    delivery = asyncio.create_task(service.deliver_pending())
    await asyncio.wait_for(deciding.wait(), 10)
    async with aftercare.runtime.pool.acquire() as conn:
        withdrawal = asyncio.create_task(_apply_in_txn(conn, facts, _withdrawal(grant)))
        await wait_until(waiting_on_lock)
        assert not withdrawal.done()
        release.set()
        assert await delivery == 1
        await withdrawal
    service.commands.load = load
    assert (await aftercare.deliveries())[0]["state"] == "sent"
    assert not await aftercare.updates_consent()

    # 2. Withdrawal first (its transaction open): the delivery waits, then withholds.
    regiven = uuid4()
    async with aftercare.runtime.pool.acquire() as conn:
        await facts.apply(conn, _given(regiven))  # consent given again, committed
    await pending_delivery(second)
    async with aftercare.runtime.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await facts.apply(conn, _withdrawal(regiven))
        delivery = asyncio.create_task(service.deliver_pending())
        await wait_until(waiting_on_lock)
        assert not delivery.done()
        await tx.commit()
    assert await delivery == 0
    last = (await aftercare.deliveries())[-1]
    assert (last["state"], last["withheld_because"]) == ("withheld", "consent_not_in_force")
    assert len(await updates_seen(aftercare, token)) == 1


async def _apply_in_txn(conn, facts, event) -> None:
    async with conn.transaction():
        await facts.apply(conn, event)


def _recorded(event, event_type: str) -> RecordedEvent:
    assert event.event_type == event_type
    return delivered("consent", CASE, event, actor=HP, agency=AGENCY, position=0)


def _withdrawal(grant: UUID) -> RecordedEvent:
    return _recorded(
        ConsentWithdrawn(
            participant_id=HP,
            target=WithdrawalTarget.GRANT,
            grants=(GrantRef(grant_id=grant, scope="progress_updates"),),
        ),
        "ConsentWithdrawn",
    )


def _given(grant: UUID) -> RecordedEvent:
    return _recorded(consent_given(HP, scope="progress_updates", grant_id=grant), "ConsentGiven")


# --- the harmed person's word, casework, research consent, access -------------------------------


async def test_casework_and_the_harmed_persons_word(world, token):
    sessions, consent, aftercare = world
    client = aftercare.client
    hp, prac = token("harmed_person", HP), token("practitioner", PRAC)
    await sessions.open_case()
    await consent_to(consent, token, "take_part", RP)
    await sessions.halt()

    async def offered():
        return (await aftercare.service.commands.load(CASE))[0].offers

    await wait_until(offered)
    base = f"/cases/{CASE}/aftercare"
    # Only the case's harmed person answers the offer.
    for headers in (
        token("harmed_person", "hp-someone"),
        token("responsible_person", RP),
        prac,
        token("auditor", AUDITOR),
    ):
        assert (await client.post(f"{base}/acceptance", headers=headers)).status_code == 403
    r = await client.post(f"{base}/acceptance", headers=hp)
    assert r.status_code == 201 and r.json()["events"][0]["type"] == "AftercareAccepted"
    assert (await client.post(f"{base}/acceptance", headers=hp)).status_code == 200

    due = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    check_in = {
        "check_in_id": str(uuid4()),
        "participant_id": HP,
        "participant_role": "harmed_person",
        "due_at": due,
    }
    assert (await client.post(f"{base}/check-ins", json=check_in, headers=hp)).status_code == 403
    assert (await client.post(f"{base}/check-ins", json=check_in, headers=prac)).status_code == 201
    r = await client.post(f"{base}/check-ins/{check_in['check_in_id']}/completion", headers=prac)
    assert r.status_code == 201
    r = await client.post(f"{base}/check-ins/{check_in['check_in_id']}/missed", headers=prac)
    assert r.status_code == 422 and r.json()["field"] == "check_in_id"
    referral = {
        "referral_id": str(uuid4()),
        "participant_id": HP,
        "participant_role": "harmed_person",
        "kind": "counselling",
        "owner_id": PRAC,
        "due_on": str(date.today() + timedelta(days=14)),
    }
    assert (await client.post(f"{base}/referrals", json=referral, headers=prac)).status_code == 201
    # The responsible person's plan: theirs to take up; a missed check-in is a risk signal.
    rp = token("responsible_person", RP)

    async def rp_known():
        async with aftercare.runtime.pool.acquire() as conn:
            return await aftercare.service.consent.role_of(conn, CASE, RP)

    await wait_until(rp_known)
    assert (await client.post(f"{base}/desistance-plan", headers=rp)).status_code == 201
    assert (
        await client.post(
            f"{base}/desistance-plan", headers=token("responsible_person", "rp-stranger")
        )
    ).status_code == 403

    # Outcome measures need research consent, read from the consent projection: a body
    # cannot claim it.
    answer = {"measure": "wellbeing", "point": "baseline", "score": 7}
    r = await client.post(
        f"{base}/outcome-measures", json={**answer, "research_consent": True}, headers=hp
    )
    assert r.status_code == 422
    r = await client.post(f"{base}/outcome-measures", json=answer, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "research_consent"
    await consent_to(consent, token, "outcome_research")
    await wait_until(lambda: aftercare.service.consent_in_force(CASE, HP, "outcome_research"))
    r = await client.post(f"{base}/outcome-measures", json=answer, headers=hp)
    assert r.status_code == 201, r.text
    r = await client.post(f"{base}/outcome-measures", json={**answer, "score": 5}, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "score"

    # Views: each role sees its own part; the practitioner never sees the update preference
    # or answers; a coordinator sees no case content.
    mine = (await client.get(base, headers=hp)).json()
    assert mine["status"] == "accepted" and mine["outcomes"][0]["score"] == 7
    staff = (await client.get(base, headers=prac)).json()
    assert "update_level" not in staff and "score" not in staff["outcomes"][0]
    audit = (await client.get(base, headers=token("auditor", AUDITOR))).json()
    assert audit["update_level"] == "none" and "deliveries" in audit
    theirs = (await client.get(base, headers=rp)).json()
    assert theirs["desistance_plan"] is True and "status" not in theirs
    assert (await client.get(base, headers=token("coordinator", COORD))).status_code == 403
    assert (await client.get(base, headers=token("practitioner", "prac-other1"))).status_code == 403
    assert (await client.get(f"{base}/progress-updates", headers=prac)).status_code == 403

    # Closing is the harmed person's word; a practitioner may close only for safety.
    r = await client.post(f"{base}/closure", json={"reason": "completed"}, headers=prac)
    assert r.status_code == 403
    r = await client.post(f"{base}/closure", json={"reason": "whenever"}, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await client.post(f"{base}/closure", json={"reason": "completed"}, headers=hp)
    assert r.status_code == 201
