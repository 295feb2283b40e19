"""The shared pieces of the service skeleton: a reaction declaration is the subscription (and
its handler sees only the types declared), the consumer table comes from the declarations, the
system actor of reactions, and the late-made service object."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.settings import Settings
from mend_events.commands.decider import system_context
from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes, consumer_rows, subscribe
from mend_testkit.samples import delivered
from sample_events import meta

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def recorded(event_type: str, service: str) -> RecordedEvent:
    return delivered(service, "case-r1aaaa", event_type, {}, at=NOW, metadata=meta())


def runtime() -> ServiceRuntime:
    settings = Settings(
        "127.0.0.1:1", "postgresql://x@127.0.0.1:1/x", "postgresql://x@127.0.0.1:1/x"
    )
    return ServiceRuntime("risk", settings, "risk", topic_prefix="p.")


class Seen:
    CONSUMES = (
        Consumes("triggers", sessions=("CaseOpened",), aftercare=("CheckInMissed",)),
        Consumes("registry", sessions=("PractitionerRegistered",)),
    )

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def on_triggers(self, conn: object, event: RecordedEvent) -> None:
        self.seen.append(("triggers", event.event_type))

    async def on_registry(self, conn: object, event: RecordedEvent) -> None:
        self.seen.append(("registry", event.event_type))


async def test_each_declaration_is_a_subscription_whose_handler_sees_only_its_types() -> None:
    rt, reactions = runtime(), Seen()
    subscribe(rt, reactions)
    subscribed = {name: (topics, handler) for name, topics, handler, _ in rt._subscriptions}
    assert {name: topics for name, (topics, _) in subscribed.items()} == {
        "triggers": ["p.sessions.events.v1", "p.aftercare.events.v1"],
        "registry": ["p.sessions.events.v1"],
    }
    triggers = subscribed["triggers"][1]
    for event_type, service in [
        ("CaseOpened", "sessions"),
        ("CheckInMissed", "aftercare"),
        ("CheckInMissed", "sessions"),  # declared for another topic only
        ("SessionHalted", "sessions"),  # not declared
    ]:
        await triggers(None, recorded(event_type, service))
    assert reactions.seen == [("triggers", "CaseOpened"), ("triggers", "CheckInMissed")]


def test_the_consumer_rows_come_from_the_declarations_with_erasures_on_the_consent_topic() -> None:
    rows = consumer_rows(
        {"risk": Seen.CONSUMES, "sessions": (Consumes("consent", consent=("ConsentGiven",)),)}
    )
    assert [(r.source, r.event_type, r.consumer, r.subscription, r.handler) for r in rows] == [
        ("aftercare", "CheckInMissed", "risk", "triggers", "on_triggers"),
        ("consent", "ConsentGiven", "sessions", "consent", "on_consent"),
        ("consent", "PersonalDataErased", "sessions", "consent", "erasure.shredding"),
        ("sessions", "CaseOpened", "risk", "triggers", "on_triggers"),
        ("sessions", "PractitionerRegistered", "risk", "registry", "on_registry"),
    ]


def test_the_system_actor_acts_because_of_its_cause_or_on_a_fresh_correlation() -> None:
    cause = recorded("ConsentWithdrawn", "consent")
    ctx = system_context("sessions", "agency-a", cause, now=NOW)
    assert (ctx.actor.id, ctx.actor.role, ctx.actor.agency) == (
        "svc-sessions",
        Role.SYSTEM,
        "agency-a",
    )
    assert (ctx.correlation_id, ctx.causation_id, ctx.now) == (
        cause.metadata.correlation_id,
        cause.event_id,
        NOW,
    )
    on_its_own = system_context("consent", "agency-b", now=NOW)
    assert on_its_own.causation_id is None and on_its_own.correlation_id is not None
    correlation, causation = uuid4(), uuid4()
    given = system_context(
        "aftercare", "agency-a", now=NOW, correlation_id=correlation, causation_id=causation
    )
    assert (given.correlation_id, given.causation_id) == (correlation, causation)


def test_the_service_object_is_made_on_first_use_and_anew_after_a_restart() -> None:
    rt = runtime()
    made: list[object] = []
    service = ServiceOf(rt, lambda r: made.append(r.store) or len(made))
    rt.store = object()  # type: ignore[assignment]  # started: a store exists
    assert (service(), service()) == (1, 1)
    rt.store = object()  # type: ignore[assignment]  # restarted: a new store
    assert service() == 2
    assert made[1] is rt.store
