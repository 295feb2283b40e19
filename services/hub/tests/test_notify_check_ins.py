"""Check-in reminders at the person's own time, on the real database, broker and a real SMTP
server: the harmed person opts into check-in reminders between 09:00 and 10:00 on her own clock
(Asia/Kolkata); a check-in of her support plan (aftercare's CheckInScheduled, from a producer
standing in for aftercare's relay) queues one reminder due inside those hours on her clock,
sent once when due; a second check-in's reminder is cancelled when she stops the plan
(AftercareClosed), and nothing more is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import (
    AftercareClosed,
    CheckInScheduled,
    ClosureReason,
    PlanRole,
    support_stream,
)
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.topics import ensure_topics
from mend_hub.notify.channels import SmtpChannel
from mend_testkit.samples import delivered
from mend_testkit.waiting import wait_until

from .conftest import HP, PRAC
from .test_notify import _at_least, smtp  # noqa: F401  (the SMTP server fixture)

KOLKATA = ZoneInfo("Asia/Kolkata")


async def test_a_check_in_reminder_at_her_hour_on_her_clock_and_none_once_she_stops(
    platform,
    unique,
    topic_prefix,
    token,
    open_people_world,
    smtp,  # noqa: F811
):
    inbox, controller = smtp
    await ensure_topics(platform.kafka_bootstrap, ["aftercare"], prefix=topic_prefix)
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()
    plan, version = support_stream("agency-a", HP), 0

    async def publish(model) -> None:
        nonlocal version
        version += 1
        event = delivered("aftercare", plan, model, actor=PRAC, role=Role.PRACTITIONER,
                          position=version, version=version)  # fmt: skip
        key, value, headers = to_message(event)
        await producer.send_and_wait(events_topic("aftercare", topic_prefix), value, key=key,
                                     headers=headers)  # fmt: skip

    try:
        async with open_people_world(platform, unique, topic_prefix, token) as w:
            c, hp = w.client, w.as_("harmed person")
            address = f"{HP}-checkin-{unique}@example.test"
            r = await c.post(f"/people/{HP}/contact-routes", headers=hp,
                             json={"channel": "email", "address": address})  # fmt: skip
            assert r.status_code == 201, r.text
            choice = {"route_id": r.json()["route_id"], "kinds": ["check_in"],
                      "earliest_hour": 9, "latest_hour": 10, "lead_hours": 2,
                      "timezone": "Asia/Kolkata"}  # fmt: skip
            bad = await c.put("/reminders", json={**choice, "timezone": "Nowhere/Atall"},
                              headers=hp)  # fmt: skip
            assert bad.status_code == 422 and "Nowhere" not in bad.text
            assert (await c.put("/reminders", json=choice, headers=hp)).status_code == 201
            assert (await c.get("/reminders", headers=hp)).json()["timezone"] == "Asia/Kolkata"

            noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
            first, second = uuid4(), uuid4()
            for check_in, days in ((first, 3), (second, 5)):
                await publish(CheckInScheduled(check_in_id=check_in, participant_id=HP,
                                               participant_role=PlanRole.SUPPORTED_PERSON,
                                               due_at=noon + timedelta(days=days)))  # fmt: skip
            queued = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "ReminderQueued", 2), timeout=60
            )
            for e in queued:
                due = datetime.fromisoformat(e.data["due_at"])
                assert due.astimezone(KOLKATA).hour == 9 and e.data["kind"] == "check_in"
                assert e.data["plan"] == plan

            deliverer = w.app.state.notify_deliverer
            deliverer.channels["email"] = SmtpChannel("127.0.0.1", controller.port)
            await w.runtime.settle()
            first_due = min(datetime.fromisoformat(e.data["due_at"]) for e in queued)
            deliverer.clock = lambda: first_due
            assert (await deliverer.run_once())["sent"] == 1
            assert [to for to, _ in inbox.messages] == [[address]]

            await publish(AftercareClosed(reason=ClosureReason.WITHDREW))
            # Both still lie ahead on the hub's own clock (the deliverer's was moved forward):
            # both are cancelled; the one already sent stays sent.
            cancelled = await wait_until(
                lambda: _at_least(w.runtime, "notices:", "ReminderCancelled", 2), timeout=60
            )
            assert {e.data["cause"] for e in cancelled} == {"plan_closed"}
            await w.runtime.settle()
            deliverer.clock = lambda: noon + timedelta(days=6)
            assert (await deliverer.run_once())["sent"] == 0
            assert len(inbox.messages) == 1
    finally:
        await producer.stop()
