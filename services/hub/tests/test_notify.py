"""Reminders and notices on the real database, broker and a real SMTP server (aiosmtpd, run
here): the harmed person opts into session reminders on her e-mail route, the responsible
person does not; sessions scheduled queue a reminder for her only; her withdrawal of the letter
consent (and the halt it causes) cancels the letter session's reminder and tells the allocated
practitioner, each once, naming the withdrawal; the deliverer sends her one neutral e-mail for
the other session and nothing twice; after she stops her reminders nothing more is sent. The
address is nowhere in clear in the hub's events. Other services' events come from a producer
standing in for their relays."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from bus_helpers import read_topic
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import ConsentWithdrawn, GrantRef
from mend_events.contracts.catalog.risk import (
    FlagCategory,
    ReassessmentTrigger,
    RiskFlagRaised,
    RiskReassessmentDue,
    Severity,
)
from mend_events.contracts.catalog.sessions import (
    HaltCause,
    Participant,
    SessionHalted,
    SessionScheduled,
)
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.topics import ensure_topics
from mend_hub.notify.channels import BODY, SmtpChannel
from mend_testkit.samples import delivered
from mend_testkit.waiting import wait_until

from .conftest import CASE, HP, PRAC, RP


class Inbox:
    """aiosmtpd's handler: every message the server accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, controller
    finally:
        controller.stop()


async def _events(runtime, prefix: str, kind: str) -> list:
    store = runtime.store
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT stream_id FROM {store.schema}.events WHERE stream_id LIKE $1 "
            f"AND event_type = $2", f"{prefix}%", kind)  # fmt: skip
    return [e for s in {r["stream_id"] for r in rows} for e in await store.read_stream(s)
            if e.event_type == kind]  # fmt: skip


async def test_reminders_only_to_who_opted_in_cancelled_and_told_once_by_a_withdrawal(
    platform, unique, topic_prefix, token, open_people_world, smtp
):
    inbox, controller = smtp
    await ensure_topics(platform.kafka_bootstrap, ["sessions", "consent", "risk"],
                        prefix=topic_prefix)  # fmt: skip
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()
    versions: dict[tuple[str, str], int] = {}

    async def publish(service: str, *models: DomainEvent) -> list:
        out = []
        for model in models:
            v = versions[(service, CASE)] = versions.get((service, CASE), 0) + 1
            event = delivered(service, CASE, model, actor=PRAC, role=Role.PRACTITIONER,
                              position=v, version=v)  # fmt: skip
            key, value, headers = to_message(event)
            await producer.send_and_wait(events_topic(service, topic_prefix), value, key=key,
                                         headers=headers)  # fmt: skip
            out.append(event)
        return out

    try:
        async with open_people_world(platform, unique, topic_prefix, token) as w:
            c, hp = w.client, w.as_("harmed person")
            address = f"canary-{unique}@example.test"
            routes = {}
            for person, who in ((HP, "harmed person"), (RP, "responsible person")):
                r = await c.post(
                    f"/people/{person}/contact-routes",
                    headers=w.as_(who),
                    json={"channel": "email", "address": f"{person}-{address}"},
                )
                assert r.status_code == 201, r.text
                routes[person] = r.json()["route_id"]
            choice = {"route_id": routes[HP], "kinds": ["session"], "earliest_hour": 0,
                      "latest_hour": 24, "lead_hours": 24}  # fmt: skip
            # Only her own route, only an e-mail one.
            wrong = await c.put("/reminders", json={**choice, "route_id": w.route_id},
                                headers=hp)  # fmt: skip
            assert wrong.status_code == 422 and wrong.json()["field"] == "route_id", wrong.text
            assert (await c.put("/reminders", json=choice, headers=hp)).status_code == 201
            shown = (await c.get("/reminders", headers=hp)).json()
            assert shown["opted_in"] and shown["kinds"] == ["session"]
            assert not (await c.get("/reminders", headers=w.as_("responsible person"))).json()[
                "opted_in"]  # fmt: skip

            soon = datetime.now(UTC) + timedelta(days=3)
            people = (Participant(id=HP, role="harmed_person"),
                      Participant(id=RP, role="responsible_person"))  # fmt: skip
            await publish(
                "sessions",
                *(
                    SessionScheduled(
                        session_id=sid,
                        form=form,
                        participants=people,
                        facilitator_id=PRAC,
                        team=(),
                        scheduled_for=soon,
                        speaks_first=HP,
                    )
                    for sid, form in (("sess-letter1", "letter"), ("sess-meet01", "face_to_face"))
                ),
            )
            queued = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "ReminderQueued", 2), timeout=60
            )
            assert {(e.data["person_id"], e.data["session_id"]) for e in queued} == {
                (HP, "sess-letter1"),
                (HP, "sess-meet01"),
            }  # nothing for him: not opted in

            grant = GrantRef(grant_id=UUID(int=1), scope="contact:letter")
            [withdrawal] = await publish(
                "consent",
                ConsentWithdrawn(
                    participant_id=HP, target="scope", scope="contact:letter", grants=(grant,)
                ),
            )
            await publish(
                "sessions",
                SessionHalted(
                    session_id="sess-letter1",
                    halted_by_id=None,
                    halted_by_role=Role.SYSTEM,
                    cause=HaltCause.CONSENT_WITHDRAWN,
                    cause_event_id=withdrawal.event_id,
                ),
            )
            told = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "StaffNotified", 1), timeout=60
            )
            cancelled = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "ReminderCancelled", 1), timeout=60
            )
            # Both messages consumed (the halt after the withdrawal): still once each.
            await _consumed(w.runtime, 4)
            told = await _events(w.runtime, "notices:", "StaffNotified")
            cancelled = await _events(w.runtime, "notices:", "ReminderCancelled")
            assert [(e.data["practitioner_id"], e.data["cause_event_id"]) for e in told] == [
                (PRAC, str(withdrawal.event_id))
            ]
            assert [(e.data["cause"], e.data["cause_event_id"]) for e in cancelled] == [
                ("consent_withdrawn", str(withdrawal.event_id))
            ]
            await w.runtime.settle()  # the outbox projection has applied the notice
            notices = (await c.get("/notices", headers=w.as_("practitioner"))).json()["notices"]
            assert [(n["case_id"], n["reason"]) for n in notices] == [
                (CASE, "consent_withdrawn")]  # fmt: skip

            # Delivery when due, through the real SMTP server: one e-mail, to her, neutral.
            deliverer = w.app.state.notify_deliverer
            deliverer.channels["email"] = SmtpChannel("127.0.0.1", controller.port)
            deliverer.clock = lambda: soon  # past every reminder's due time
            await w.runtime.settle()
            assert (await deliverer.run_once())["sent"] == 2  # hers, and the practitioner's
            assert (await deliverer.run_once())["sent"] == 0  # nothing twice
            [(to, text)] = inbox.messages
            assert to == [f"{HP}-{address}"] and BODY.split(".")[0] in text
            assert CASE not in text and "letter" not in text.lower()

            # She stops; a session scheduled since would have reminded her: nothing is sent.
            await publish(
                "sessions",
                SessionScheduled(
                    session_id="sess-meet02",
                    form="face_to_face",
                    participants=people,
                    facilitator_id=PRAC,
                    team=(),
                    scheduled_for=soon + timedelta(days=2),
                    speaks_first=HP,
                ),
            )
            await wait_until(
                lambda: _at_least(w.runtime, "notices:", "ReminderQueued", 3), timeout=60
            )
            assert (await c.post("/reminders/stop", headers=hp)).status_code == 201
            deliverer.clock = lambda: soon + timedelta(days=2)
            await w.runtime.settle()
            assert (await deliverer.run_once())["withheld"] == 1
            assert len(inbox.messages) == 1

            async with w.runtime.pool.acquire() as conn:
                raw = await conn.fetch(f"SELECT data::text AS d FROM {w.runtime.store.schema}"
                                       f".events")  # fmt: skip
            assert not any(address in r["d"] for r in raw)
            # Nor on the hub's topic: every event it stored, published, none with the address.
            messages = await read_topic(
                platform.kafka_bootstrap, events_topic("hub", topic_prefix), expect=len(raw)
            )
            assert len(messages) >= len(raw)
            assert not any(address.encode() in (m.value or b"") for m in messages)
    finally:
        await producer.stop()


async def _at_least(runtime, prefix: str, kind: str, n: int) -> list:
    found = await _events(runtime, prefix, kind)
    return found if len(found) >= n else []


async def _consumed(runtime, n: int) -> None:
    """The `notify` subscription's inbox has `n` messages (nothing left to apply)."""

    async def done() -> bool:
        async with runtime.pool.acquire() as conn:
            count = await conn.fetchval(
                f"SELECT count(*) FROM {runtime.schema}.inbox WHERE consumer LIKE '%notify'"
            )
        return count >= n

    await wait_until(done, timeout=60)


async def test_a_severe_flag_and_a_reassessment_due_tell_the_practitioner_once_each(
    platform, unique, topic_prefix, token, open_people_world
):
    await ensure_topics(platform.kafka_bootstrap, ["sessions", "consent", "risk"],
                        prefix=topic_prefix)  # fmt: skip
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()
    try:
        async with open_people_world(platform, unique, topic_prefix, token) as w:
            flag = uuid4()
            models = [
                RiskFlagRaised(flag_id=uuid4(), severity=Severity.HIGH,
                               category=FlagCategory.MANIPULATION, affects=None),
                RiskFlagRaised(flag_id=flag, severity=Severity.SEVERE,
                               category=FlagCategory.SAFETY_THREAT, affects=None),
                RiskReassessmentDue(trigger=ReassessmentTrigger.RISK_FLAG_RAISED,
                                    trigger_event_id=flag),
            ]  # fmt: skip
            sent = []
            for v, model in enumerate(models, start=1):
                event = delivered("risk", CASE, model, actor=PRAC, role=Role.PRACTITIONER,
                                  position=v, version=v)  # fmt: skip
                key, value, headers = to_message(event)
                await producer.send_and_wait(events_topic("risk", topic_prefix), value, key=key,
                                             headers=headers)  # fmt: skip
                sent.append(event)
            # The same severe flag delivered again: still told once.
            key, value, headers = to_message(sent[1])
            await producer.send_and_wait(events_topic("risk", topic_prefix), value, key=key,
                                         headers=headers)  # fmt: skip
            await _consumed(w.runtime, 3)
            told = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "StaffNotified", 2), timeout=60
            )
            assert sorted((e.data["reason"], e.data["cause_event_id"]) for e in told) == sorted(
                [
                    ("severe_flag", str(sent[1].event_id)),
                    ("reassessment_due", str(sent[2].event_id)),
                ]
            )  # a high flag: nobody
            assert {e.data["practitioner_id"] for e in told} == {PRAC}
    finally:
        await producer.stop()
