"""The sessions service through its HTTP API, on the real database and broker: every gate (R4)
refuses scheduling and starting on its own and names itself, who may do what, and the
consistency guard. Consent and risk facts reach the service as the other services publish them:
CloudEvents on their topics, consumed by its subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import (
    AcknowledgementRecorded,
    AcknowledgementWithdrawn,
    ConsentInvalidated,
    ConsentLapsed,
    ConsentWithdrawn,
    GrantRef,
)
from mend_events.contracts.catalog.risk import (
    AssessmentStage,
    DecisionReason,
    FlagCategory,
    PermittedForm,
    ReassessmentTrigger,
    RiskAssessmentCompleted,
    RiskAssessmentStarted,
    RiskDecision,
    RiskFlagRaised,
    RiskReassessmentDue,
    SafetyPlanAgreed,
    Severity,
)
from mend_events.contracts.catalog.sessions import PractitionerRegistered
from mend_events.contracts.envelope import Metadata, NewEvent, RecordedEvent
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.cloudevents import to_message
from mend_sessions.app import build
from mend_testkit.directory import allocate, allocate_volunteer, deallocate
from mend_testkit.fixtures import running_service
from mend_testkit.samples import consent_given, delivered, practitioner_body

HP, RP, SUP = "hp-alice01", "rp-bob0001", "sup-carl01"
FAC, ALT, SURV, HSB = "prac-fac001", "prac-alt001", "prac-surv01", "prac-hsb001"
WEAK, SURV2 = "prac-weak01", "prac-surv02"  # downgraded during a test
COORD = "coord-dee01"
F2F = "face_to_face"
NOW = datetime.now(UTC)
PEOPLE = [{"id": HP, "role": "harmed_person"}, {"id": RP, "role": "responsible_person"}]


@dataclass
class Setup:
    """A case where a face-to-face meeting of HP and RP meets every gate."""

    facilitator: str = FAC
    team: tuple[str, ...] = (SURV, HSB)
    permitted_forms: tuple[str, ...] = (F2F, "letter", "indirect")
    rp_takes_part: bool = True
    min_gap_days: int = 14
    prepared: tuple[str, ...] = (HP, RP)
    hp_scopes: tuple[str, ...] = ("take_part", f"contact:{F2F}")
    rp_scopes: tuple[str, ...] = ("take_part", f"contact:{F2F}")
    contact_expires: dict[str, datetime] = field(default_factory=dict)  # participant -> expiry
    acknowledged: bool = True
    stage: AssessmentStage = AssessmentStage.FULL
    risk_permits: tuple[PermittedForm, ...] = (
        PermittedForm(form=F2F, with_responsible_person=True),
    )
    risk_valid_until: datetime = NOW + timedelta(days=90)
    safety_plan: bool = True  # agreed with the harmed person, with the assessment

    def preferences(self, **changes: Any) -> dict[str, Any]:
        body = {
            "min_gap_days": self.min_gap_days,
            "permitted_forms": list(self.permitted_forms),
            "responsible_person_takes_part": self.rp_takes_part,
            "invited": [RP],
        }
        return {**body, **changes}


class World:
    """One running sessions service, a producer standing in for the consent and risk services'
    relays, and helpers to walk a case through the API."""

    def __init__(self, running, token, producer: AIOKafkaProducer, prefix: str) -> None:
        self.client, self.app, self.runtime = running
        self.token = token
        self.producer = producer
        self.prefix = prefix
        self.versions: dict[tuple[str, str], int] = {}
        self.grants: dict[tuple[str, str, str], Any] = {}  # (case, person, scope) -> grant id

    # -- identities
    def hp(self) -> dict[str, str]:
        return self.token("harmed_person", HP)

    def prac(self, case: str, who: str = FAC) -> dict[str, str]:
        """A practitioner's token; their cases are the hub's allocations (`prepare`)."""
        return self.token("practitioner", who)

    # -- other services' events
    def recorded(self, service: str, case: str, model: DomainEvent, actor: str) -> RecordedEvent:
        version = self.versions.get((service, case), 0) + 1
        self.versions[(service, case)] = version
        role = Role.PRACTITIONER if actor.startswith("prac-") else Role.HARMED_PERSON
        return delivered(
            service, case, model, actor=actor, role=role, position=version, version=version
        )

    async def publish(self, service: str, case: str, *models: DomainEvent) -> list[RecordedEvent]:
        """As the other service's relay would: one CloudEvent each, keyed by the case."""
        out, acks = [], []
        for model in models:
            event = self.recorded(service, case, model, FAC)
            key, value, headers = to_message(event)
            topic = events_topic(service, self.prefix)
            acks.append(await self.producer.send(topic, value, key=key, headers=headers))
            out.append(event)
        await asyncio.gather(*acks)
        return out

    async def learn_without_reacting(self, service: str, case: str, model: DomainEvent) -> None:
        """Write a fact into the view as the reaction would, without its halt: the moment
        between the two that the case lock hides from every other request."""
        svc = self.app.state.service
        view = svc.consent if service == "consent" else svc.risk
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            await view.apply(conn, self.recorded(service, case, model, FAC), model)

    # -- the API
    async def post(self, path: str, body: dict | None, headers: dict) -> Any:
        return await self.client.post(path, json=body, headers=headers)

    async def ok(self, path: str, body: dict | None, headers: dict) -> dict:
        r = await self.post(path, body, headers)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    async def register(self, pid: str, level: int = 2, specialisms: tuple[str, ...] = ()) -> None:
        await self.ok(
            "/practitioners",
            practitioner_body(pid, level, specialisms),
            self.token("coordinator", COORD),
        )

    async def prepare(self, case: str, s: Setup) -> None:
        hp = self.hp()
        opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
        await self.ok(f"/cases/{case}/open", {**opening, "route": "self_referral"}, hp)
        await self.ok(f"/cases/{case}/facilitator", {"practitioner_id": s.facilitator}, hp)
        await allocate(self.runtime, case, s.facilitator)  # the hub's allocation of the case
        await self.ok(f"/cases/{case}/preferences", s.preferences(), hp)
        if s.rp_takes_part:  # the harmed person's agreement, then the enrolment
            await self.ok(
                f"/cases/{case}/participants",
                {"person_id": RP, "role": "responsible_person"},
                self.prac(case, s.facilitator),
            )
        roles = {HP: "harmed_person", RP: "responsible_person"}
        for person in s.prepared:
            await self.ok(
                f"/cases/{case}/preparations",
                {"participant": {"id": person, "role": roles[person]}},
                self.prac(case, s.facilitator),
            )
        consent: list[DomainEvent] = []
        for person, scopes, role in (
            (HP, s.hp_scopes, Role.HARMED_PERSON),
            (RP, s.rp_scopes, Role.RESPONSIBLE_PERSON),
        ):
            for scope in scopes:
                expires = s.contact_expires.get(person) if scope.startswith("contact:") else None
                grant = self.grants[(case, person, scope)] = uuid4()
                consent.append(
                    consent_given(person, role, scope, grant_id=grant, expires_at=expires)
                )
        if s.acknowledged:
            consent.append(
                AcknowledgementRecorded(responsible_person_id=RP, basis="written_statement")
            )
        await self.publish("consent", case, *consent)
        await self.assess(case, s)

    async def assess(self, case: str, s: Setup) -> list[RecordedEvent]:
        """A risk assessment started and completed, as the risk service publishes them."""
        assessment = uuid4()
        return await self.publish(
            "risk",
            case,
            RiskAssessmentStarted(assessment_id=assessment, stage=s.stage),
            RiskAssessmentCompleted(
                assessment_id=assessment,
                decision=RiskDecision.PROCEED,
                permitted_forms=s.risk_permits,
                reasons=(DecisionReason.SUITABLE_WITH_SAFEGUARDS,),
                signed_off_by=SURV,
                valid_until=s.risk_valid_until,
            ),
            *([plan_of(assessment)] if s.safety_plan else []),
        )

    def session(self, s: Setup, sid: str = "sess-0001", **changes: Any) -> dict[str, Any]:
        body = {
            "session_id": sid,
            "form": F2F,
            "participants": PEOPLE,
            "facilitator_id": s.facilitator,
            "team": list(s.team),
            "scheduled_for": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        return {**body, **changes}

    async def schedule(self, case: str, s: Setup, **changes: Any) -> Any:
        return await self.post(f"/cases/{case}/sessions", self.session(s, **changes), self.hp())

    async def start(self, case: str, s: Setup, sid: str = "sess-0001") -> Any:
        return await self.post(
            f"/cases/{case}/sessions/{sid}/start", None, self.prac(case, s.facilitator)
        )

    def move_clock(self, by: timedelta | None) -> None:
        service = self.app.state.service
        service.clock = (lambda: datetime.now(UTC) + by) if by else (lambda: datetime.now(UTC))


@pytest.fixture
async def producer(platform):
    p = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def world(platform, unique, topic_prefix, token, producer):
    # A generous bound here: the first messages also wait for the consumer group to join.
    async with running_service(
        build, "sessions", platform, unique, topic_prefix, max_consent_lag_ms=20_000
    ) as running:
        w = World(running, token, producer, topic_prefix)
        for pid in (FAC, ALT, WEAK):
            await w.register(pid, level=2)
        await w.register(SURV, 1, ("survivor_specialist",))
        await w.register(SURV2, 1, ("survivor_specialist",))
        await w.register(HSB, 1, ("hsb_specialist",))
        yield w


def refused_by(r: Any, gate: str) -> None:
    """Refused with 422, naming exactly one unmet gate, which contains `gate`."""
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "gates_unmet", body
    assert len(body["gates"]) == 1 and gate in body["gates"][0], body["gates"]
    assert gate in body["reason"]


# --------------------------------------------------------------------------------------------


async def test_all_gates_met_then_schedule_start_halt_and_read(world):
    case, s = "case-allok001", Setup()
    await world.prepare(case, s)
    body = world.session(s)
    r = await world.post(f"/cases/{case}/sessions", body, world.hp())
    assert r.status_code == 201, r.text
    assert [e["type"] for e in r.json()["events"]] == ["SessionScheduled"]
    # The same request again (a retry) writes nothing.
    again = await world.post(f"/cases/{case}/sessions", body, world.hp())
    assert again.status_code == 200 and again.json()["events"] == []
    r = await world.start(case, s)
    assert r.status_code == 201, r.text
    assert [e["type"] for e in r.json()["events"]] == ["SessionStarted"]
    # Anyone taking part may halt it, owing no reason (R3).
    r = await world.post(
        f"/cases/{case}/sessions/sess-0001/halt", None, world.token("responsible_person", RP)
    )
    assert r.status_code == 201 and r.json()["events"][0]["type"] == "SessionHalted"
    # A halted session never resumes silently (R3).
    r = await world.start(case, s)
    assert r.status_code == 422 and "never resumes" in r.json()["reason"]
    await world.runtime.settle()
    doc = (await world.client.get(f"/cases/{case}", headers=world.hp())).json()
    session = doc["sessions"][0]
    assert session["status"] == "halted" and session["started_at"]
    # A participant sees that it was halted and when, not by whom or why (R8).
    assert session["halt"]["cause"] == "halted" and not session["halt"]["halted_by_you"]
    assert "halted_by_role" not in session["halt"]
    assert doc["preferences"]["min_gap_days"] == 14
    # The responsible person sees the case's status and their sessions, not her preferences.
    mine = (
        await world.client.get(f"/cases/{case}", headers=world.token("responsible_person", RP))
    ).json()
    assert set(mine) == {"case_id", "version", "status", "sessions"}
    assert [x["session_id"] for x in mine["sessions"]] == ["sess-0001"]
    assert mine["sessions"][0]["halt"]["cause"] == "halted_by_you"
    # The auditor sees every halt with its cause and who halted it (R9).
    audited = await world.client.get(f"/cases/{case}", headers=world.token("auditor", "aud-0001"))
    halt = audited.json()["sessions"][0]["halt"]
    assert (halt["cause"], halt["halted_by_role"]) == ("participant_halt", "responsible_person")
    # Somebody not in any session sees nothing.
    r = await world.client.get(f"/cases/{case}", headers=world.token("supporter", SUP))
    assert r.status_code == 403


@dataclass(frozen=True)
class Breaker:
    """One gate broken, everything else met: `setup` changes the case, `then` acts on it after
    it is set up (schedule test) or after its session is scheduled (start test)."""

    gate: str
    setup: dict[str, Any] = field(default_factory=dict)
    then: Callable[[World, str, Setup], Awaitable[None]] | None = None
    request: dict[str, Any] = field(default_factory=dict)
    clock: timedelta | None = None  # decide this much later (expiry, staleness)


async def _pause(w: World, case: str, s: Setup) -> None:
    await w.ok(f"/cases/{case}/pause", None, w.hp())


def _prefer(**changes: Any) -> Callable[[World, str, Setup], Awaitable[None]]:
    async def act(w: World, case: str, s: Setup) -> None:
        await w.ok(f"/cases/{case}/preferences", s.preferences(**changes), w.hp())

    return act


async def _severe_flag(w: World, case: str, s: Setup) -> None:
    flag = RiskFlagRaised(
        flag_id=uuid4(), severity=Severity.SEVERE, category=FlagCategory.SAFETY_THREAT, affects=None
    )
    await w.publish("risk", case, flag)


async def _reassessment_due(w: World, case: str, s: Setup) -> None:
    due = RiskReassessmentDue(
        trigger=ReassessmentTrigger.CASE_STAGE_CHANGED, trigger_event_id=uuid4()
    )
    await w.publish("risk", case, due)


DUE = f"no current risk assessment permits {F2F} (a reassessment is due since"


async def _downgrade_weak(w: World, case: str, s: Setup) -> None:
    await w.register(WEAK, level=1)


async def _earlier_session(w: World, case: str, s: Setup) -> None:
    await w.ok(f"/cases/{case}/sessions", w.session(s, sid="sess-0000"), w.hp())


def plan_of(assessment_id: Any) -> SafetyPlanAgreed:
    return SafetyPlanAgreed(
        assessment_id=assessment_id, agreed_with=HP, separate_arrival_departure=True,
        support_person_present=False, breaks=True, exit_plan=True, code_word_set=False,
    )  # fmt: skip


ONLY_INDIRECT = (PermittedForm(form="indirect", with_responsible_person=True),)
FORM = F2F

SCHEDULE_BREAKERS = [
    Breaker("case is paused", then=_pause),
    Breaker("unresolved severe risk flag", then=_severe_flag),
    Breaker(f"harmed person's preferences do not include {FORM}", then=_prefer(
        permitted_forms=["letter"])),
    Breaker("harmed person's preferences exclude the responsible person", then=_prefer(
        responsible_person_takes_part=False)),
    Breaker(f"harmed person's consent does not cover {FORM}", {"hp_scopes": ("take_part",)}),
    Breaker(f"responsible person's consent does not cover {FORM}",
            {"rp_scopes": ("take_part", "contact:letter")}),
    Breaker("responsible person's acknowledgement does not stand", {"acknowledged": False}),
    Breaker(f"no current risk assessment permits {FORM}", {"risk_permits": ONLY_INDIRECT}),
    Breaker(f"no current risk assessment permits {FORM}",
            {"risk_valid_until": NOW - timedelta(days=1)}),
    Breaker(f"no current risk assessment permits {FORM}", {"stage": AssessmentStage.INITIAL}),
    Breaker(DUE, then=_reassessment_due),
    Breaker(f"no safety plan agreed with the harmed person before direct contact ({FORM})",
            {"safety_plan": False}),
    Breaker(f"facilitator {ALT} is not the one the harmed person chose",
            request={"facilitator_id": ALT}),
    Breaker("chosen facilitator is not qualified (level 1 is below the required 2)",
            {"facilitator": WEAK}, then=_downgrade_weak),
    Breaker("survivor specialist missing from team", {"team": (HSB,)}),
    Breaker("harmful sexual behaviour specialist missing from team", {"team": (SURV,)}),
    Breaker("preparation not done with responsible person", {"prepared": (HP,)}),
    Breaker("minimum gap of 14 days not respected: session sess-0000", then=_earlier_session,
            request={"scheduled_for": (NOW + timedelta(hours=3)).isoformat()}),
]  # fmt: skip


async def test_each_gate_alone_refuses_scheduling_and_names_itself(world):
    for i, b in enumerate(SCHEDULE_BREAKERS):
        case, s = f"case-sched{i:03d}", replace(Setup(), **b.setup)
        await world.prepare(case, s)
        if b.then:
            await b.then(world, case, s)
        refused_by(await world.schedule(case, s, **b.request), b.gate)
    # And with every gate met, the same walk schedules.
    await world.prepare("case-schedok1", Setup())
    assert (await world.schedule("case-schedok1", Setup())).status_code == 201


async def _choose_alt(w: World, case: str, s: Setup) -> None:
    await w.ok(f"/cases/{case}/facilitator", {"practitioner_id": ALT}, w.hp())


async def _lose_survivor_specialist(w: World, case: str, s: Setup) -> None:
    await w.register(SURV2, level=1)


async def _ack_withdrawn(w: World, case: str, s: Setup) -> None:
    model = AcknowledgementWithdrawn(responsible_person_id=RP, ground="retracted")
    await w.learn_without_reacting("consent", case, model)


async def _severe_flag_learnt(w: World, case: str, s: Setup) -> None:
    flag = RiskFlagRaised(
        flag_id=uuid4(), severity=Severity.SEVERE, category=FlagCategory.MANIPULATION, affects=RP
    )
    await w.learn_without_reacting("risk", case, flag)


LATER = timedelta(days=2)
SOON = NOW + timedelta(days=1)

START_BREAKERS = [
    Breaker("case is paused", then=_pause),
    Breaker(f"harmed person's preferences do not include {FORM}", then=_prefer(
        permitted_forms=["letter"])),
    Breaker("harmed person's preferences exclude the responsible person", then=_prefer(
        responsible_person_takes_part=False)),
    Breaker(f"harmed person's consent does not cover {FORM}",
            {"contact_expires": {HP: SOON}}, clock=LATER),
    Breaker(f"responsible person's consent does not cover {FORM}",
            {"contact_expires": {RP: SOON}}, clock=LATER),
    Breaker(f"no current risk assessment permits {FORM}", {"risk_valid_until": SOON},
            clock=LATER),
    Breaker(DUE, then=_reassessment_due),
    Breaker(f"facilitator {FAC} is not the one the harmed person chose", then=_choose_alt),
    Breaker("chosen facilitator is not qualified (level 1 is below the required 2)",
            {"facilitator": WEAK}, then=_downgrade_weak),
    Breaker("survivor specialist missing from team", {"team": (SURV2, HSB)},
            then=_lose_survivor_specialist),
    # A lost acknowledgement or a severe flag halts the session as soon as it is consumed
    # (tests/e2e); here the view knows it and the halt has not run: the start gate holds alone.
    Breaker("responsible person's acknowledgement does not stand", then=_ack_withdrawn),
    Breaker("unresolved severe risk flag", then=_severe_flag_learnt),
]  # fmt: skip


async def test_each_gate_alone_refuses_starting_and_names_itself(world):
    # (Preparation cannot be undone, so its gate can refuse a start only if it was bypassed.)
    for i, b in enumerate(START_BREAKERS):
        case, s = f"case-start{i:03d}", replace(Setup(), **b.setup)
        await world.prepare(case, s)
        r = await world.schedule(case, s)
        assert r.status_code == 201, (b.gate, r.text)
        if b.then:
            await b.then(world, case, s)
        world.move_clock(b.clock)
        try:
            refused_by(await world.start(case, s), b.gate)
        finally:
            world.move_clock(None)
    # The minimum gap: a session that took place just now keeps the next one waiting.
    case, s = "case-startgap", Setup()
    await world.prepare(case, s)
    later = (datetime.now(UTC) + timedelta(days=15)).isoformat()
    assert (await world.schedule(case, s)).status_code == 201
    assert (await world.schedule(case, s, session_id="sess-0002", scheduled_for=later)).is_success
    assert (await world.start(case, s)).status_code == 201
    await world.ok(f"/cases/{case}/sessions/sess-0001/complete", None, world.prac(case))
    refused_by(await world.start(case, s, "sess-0002"), "minimum gap of 14 days since last")
    # With every gate met, the walk starts.
    case = "case-startok1"
    await world.prepare(case, Setup())
    assert (await world.schedule(case, Setup())).status_code == 201
    assert (await world.start(case, Setup())).status_code == 201


async def test_a_reassessment_due_refuses_a_start_until_an_assessment_answers_it(world):
    case, s = "case-due00001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    # The risk service records that the case changed (here: consent given again after a
    # withdrawal): the assessment that permitted the meeting is no longer current.
    due = RiskReassessmentDue(
        trigger=ReassessmentTrigger.CONSENT_REGRANTED, trigger_event_id=uuid4()
    )
    await world.publish("risk", case, due)
    r = await world.start(case, s)
    refused_by(r, DUE)
    assert "consent regranted" in r.json()["gates"][0]
    later = (datetime.now(UTC) + timedelta(days=15)).isoformat()
    refused_by(await world.schedule(case, s, session_id="sess-0002", scheduled_for=later), DUE)
    types = [e.event_type for e in await world.runtime.store.read_stream(case)]
    assert "SessionStarted" not in types and types.count("SessionScheduled") == 1
    # A reassessment completed after it answers it; the same trigger recorded again is due
    # once only (as the risk domain folds it), so the start goes ahead.
    await world.assess(case, s)
    await world.publish("risk", case, due)
    assert (await world.start(case, s)).status_code == 201


async def test_the_responsible_person_never_leads_and_staff_only_their_cases(world):
    case = "case-lead0001"
    rp = world.token("responsible_person", RP)
    opening = {"harm_category": "rape", "justice_stage": "post_sentence"}
    # Opening a case: refused, whatever the route (an invitation is for agencies and supporters).
    for body in (
        {**opening, "route": "self_referral"},
        {**opening, "route": "agency_on_request", "harmed_person_id": HP},
    ):
        r = await world.post(f"/cases/{case}/open", body, rp)
        assert r.status_code == 403, r.text
    r = await world.post(f"/cases/{case}/invitations", {"harmed_person_id": HP}, rp)
    assert r.status_code == 403
    await world.prepare(case, Setup())
    # Choosing the facilitator, or setting the speaking order: refused.
    r = await world.post(f"/cases/{case}/facilitator", {"practitioner_id": ALT}, rp)
    assert r.status_code == 403, r.text
    r = await world.post(f"/cases/{case}/preferences", Setup().preferences(speaks_first=RP), rp)
    assert r.status_code == 403, r.text
    # Neither may the facilitator decide them for her.
    r = await world.post(
        f"/cases/{case}/preferences", Setup().preferences(speaks_first=RP), world.prac(case)
    )
    assert r.status_code == 403
    # She may: the responsible person speaks first because she says so (R6).
    r = await world.post(
        f"/cases/{case}/preferences", Setup().preferences(speaks_first=RP), world.hp()
    )
    assert r.status_code == 201
    # A practitioner works only on cases allocated to them: another is refused, and so is the
    # facilitator once the hub deallocates them.
    preparation = {"participant": {"id": HP, "role": "harmed_person"}}
    r = await world.post(f"/cases/{case}/preparations", preparation, world.prac(case, ALT))
    assert r.status_code == 403
    await deallocate(world.runtime, case, FAC)
    r = await world.post(f"/cases/{case}/preparations", preparation, world.prac(case))
    assert r.status_code == 403
    # Only coordinators register practitioners.
    body = {"practitioner_id": "prac-self01", "rj_trained": True, "sexual_harm_trained": True,
            "level": 3}  # fmt: skip
    r = await world.post("/practitioners", body, world.token("practitioner", "prac-self01"))
    assert r.status_code == 403
    # An auditor reads, and changes nothing.
    auditor = world.token("auditor", "aud-0001")
    await world.runtime.settle()
    assert (await world.client.get(f"/cases/{case}", headers=auditor)).status_code == 200
    r = await world.post(f"/cases/{case}/sessions", world.session(Setup()), auditor)
    assert r.status_code == 403
    # Bad input is a field-level 422, never a 500.
    r = await world.post(f"/cases/{case}/sessions", {"session_id": "x"}, world.hp())
    assert r.status_code == 422 and r.json()["field"]


async def test_a_lagging_consent_view_refuses_to_start_with_503(world):
    case, s = "case-lag00001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    guard = world.app.state.service.guard
    guard.max_lag_ms = 300
    consumer = next(c for c in world.runtime.consumers if c.name.endswith(".consent"))
    await consumer.stop()  # the consent subscription falls behind from here
    grant = consent_given(HP, scope="contact:letter")
    await world.publish("consent", case, grant)
    r = await world.start(case, s)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"] == "unavailable"
    assert "consent" in body["reason"] and "300 ms" in body["reason"]


async def test_a_start_waits_for_a_reaction_holding_the_case_and_never_skips_it(world):
    case, s = "case-lock0001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    service = world.app.state.service
    service.lock_timeout_ms = 200
    # A reaction of this case is mid-way (it holds the case lock until its inbox commits).
    async with world.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"{world.runtime.schema}:case:{case}",
        )
        r = await world.start(case, s)
    assert r.status_code == 503, r.text
    assert "busy" in r.json()["reason"]
    assert (await world.start(case, s)).status_code == 201  # once it is done, the start runs


async def test_a_grant_is_applied_without_waiting_for_the_case_lock(world):
    # Only what takes a fact away waits for a gated decision holding the case; a grant can
    # only make a refusal of that decision stale, never a pass wrong.
    case = "case-grant001"
    given = consent_given(HP)
    reactions, pool = world.app.state.reactions, world.runtime.pool
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"{world.runtime.schema}:case:{case}",
        )
        async with pool.acquire() as conn, conn.transaction():
            event = world.recorded("consent", case, given, HP)
            await asyncio.wait_for(reactions.on_consent(conn, event), timeout=5)
    async with pool.acquire() as conn:
        covered = await world.app.state.service.consent.covered_forms(conn, case, datetime.now(UTC))
    assert HP in covered


async def halts_of(world: World, case: str, expect: int) -> list[RecordedEvent]:
    """The case's SessionHalted events, once there are `expect` of them (polled, 30 s at most)."""
    store = world.runtime.store
    for _ in range(600):
        found = [e for e in await store.read_stream(case) if e.event_type == "SessionHalted"]
        if len(found) >= expect:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case}: fewer than {expect} halts")


async def test_each_loss_of_consent_halts_what_depended_on_it_with_its_own_cause(world):
    s = Setup(hp_scopes=("take_part", f"contact:{F2F}", "contact:letter", "share:police-north"))
    lapse_case, invalid_case, ack_case = "case-lapse001", "case-inval001", "case-ackwd001"
    for case in (lapse_case, invalid_case, ack_case):
        await world.prepare(case, s)
        assert (await world.schedule(case, s)).status_code == 201
        assert (await world.start(case, s)).status_code == 201
    # Losing what the session does not depend on halts nothing: a letter, a sharing scope.
    unrelated = [
        ConsentWithdrawn(
            participant_id=HP,
            target="scope",
            scope=scope,
            grants=(GrantRef(grant_id=world.grants[(lapse_case, HP, scope)], scope=scope),),
        )
        for scope in ("contact:letter", "share:police-north")
    ]
    scope = f"contact:{F2F}"
    lapsed = ConsentLapsed(
        grant_id=world.grants[(lapse_case, HP, scope)],
        participant_id=HP,
        scope=scope,
        expired_at=datetime.now(UTC),
    )
    *_, lapse = await world.publish("consent", lapse_case, *unrelated, lapsed)
    refs = tuple(
        GrantRef(grant_id=world.grants[(invalid_case, RP, scope)], scope=scope)
        for scope in ("take_part", f"contact:{F2F}")
    )
    (invalidation,) = await world.publish(
        "consent",
        invalid_case,
        ConsentInvalidated(participant_id=RP, report_id=uuid4(), grants=refs),
    )
    (denial,) = await world.publish(
        "consent",
        ack_case,
        AcknowledgementWithdrawn(responsible_person_id=RP, ground="denial"),
    )
    for case, cause, kind in (
        (lapse_case, lapse, "consent_lapsed"),
        (invalid_case, invalidation, "consent_invalidated"),
        (ack_case, denial, "acknowledgement_withdrawn"),
    ):
        [halt] = await halts_of(world, case, 1)
        assert halt.metadata.causation_id == cause.event_id
        assert halt.data["cause_event_id"] == str(cause.event_id)
        assert halt.data["cause"] == kind


# --- the registry is per agency (issue 14, item 3) ------------------------------------------

B_COORD, B_PRAC = "coord-bea001", "prac-bonly1"


async def test_another_agencys_coordinator_never_changes_or_lists_this_agencys_registry(world):
    case, s = "case-regb0001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    b_coord = world.token("coordinator", B_COORD, agency="agency-b")
    demote = {"practitioner_id": FAC, "rj_trained": True, "sexual_harm_trained": False,
              "level": 1}  # fmt: skip
    r = await world.post("/practitioners", demote, b_coord)
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "practitioner_id"
    # Agency B's own practitioner is its own entry.
    own = {"practitioner_id": B_PRAC, "rj_trained": True, "sexual_harm_trained": True,
           "level": 3}  # fmt: skip
    assert (await world.post("/practitioners", own, b_coord)).status_code == 201
    await world.runtime.settle()
    # Listings: each agency sees its own entries only.
    a_list = await world.client.get("/practitioners", headers=world.token("coordinator", COORD))
    a_ids = {p["practitioner_id"] for p in a_list.json()["practitioners"]}
    assert FAC in a_ids and B_PRAC not in a_ids
    b_list = await world.client.get("/practitioners", headers=b_coord)
    assert [p["practitioner_id"] for p in b_list.json()["practitioners"]] == [B_PRAC]
    hp_list = await world.client.get("/practitioners", headers=world.hp())
    assert B_PRAC not in {p["practitioner_id"] for p in hp_list.json()["practitioners"]}
    # A's gates are unchanged: its facilitator is still qualified, the session starts.
    assert (await world.start(case, s)).status_code == 201
    # A's harmed person cannot choose another agency's practitioner.
    r = await world.post(f"/cases/{case}/facilitator", {"practitioner_id": B_PRAC}, world.hp())
    assert r.status_code == 422 and r.json()["field"] == "practitioner_id", r.text


async def test_entries_of_the_legacy_single_registry_stream_belong_to_their_agency(world):
    """Events stored before the split, on the old `registry` stream: agency B's overwrite of
    A's facilitator there is B's entry, never A's; A's own old entry still counts."""
    store = world.runtime.store
    at = datetime.now(UTC)

    def old(pid: str, agency: str, coord: str, level: int, trained: bool, s: int) -> NewEvent:
        event = PractitionerRegistered(
            practitioner_id=pid, rj_trained=True, sexual_harm_trained=trained, level=level
        )
        when = at + timedelta(seconds=s)
        meta = Metadata(coord, Role.COORDINATOR, agency, uuid4(), None, when)
        return NewEvent(uuid4(), event, meta)

    # A registered the id first; B's overwrite came later, so the id stays A's.
    legacy = [
        old("prac-old0001", "agency-a", COORD, 2, True, s=-3),
        old("prac-old0001", "agency-b", B_COORD, 1, False, s=-2),  # B's overwrite, as it was
        old(FAC, "agency-b", B_COORD, 1, False, s=-1),
    ]
    await store.append("registry", legacy, expected_version=0)
    case, s = "case-regold01", Setup(facilitator="prac-old0001")
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    assert (await world.start(case, s)).status_code == 201
    await world.runtime.settle()
    a_coord = world.token("coordinator", COORD)
    a_list = await world.client.get("/practitioners", headers=a_coord)
    rows = {p["practitioner_id"]: p for p in a_list.json()["practitioners"]}
    assert rows["prac-old0001"]["may_facilitate"] and rows[FAC]["may_facilitate"]
    # The id stays A's: A's coordinator still updates it, B's may not register it again.
    body = {"practitioner_id": "prac-old0001", "rj_trained": True, "sexual_harm_trained": True,
            "level": 3}  # fmt: skip
    assert (await world.post("/practitioners", body, a_coord)).status_code == 201
    b_coord = world.token("coordinator", B_COORD, agency="agency-b")
    assert (await world.post("/practitioners", body, b_coord)).status_code == 403


async def test_registry_matrix_each_role_two_agencies_no_leak(world):
    """Who may change agency A's entry, and whose entries each caller lists: each role of
    agency A, the same roles of agency B; 0 leaks."""
    entry = {"practitioner_id": "prac-amatrix", "rj_trained": True, "sexual_harm_trained": True,
             "level": 2}  # fmt: skip
    await world.register("prac-amatrix")
    b_entry = {**entry, "practitioner_id": "prac-bmatrix"}
    b_coord = world.token("coordinator", B_COORD, agency="agency-b")
    assert (await world.post("/practitioners", b_entry, b_coord)).status_code == 201
    await world.runtime.settle()
    roles = {
        "harmed_person": "hp-matrix1",
        "responsible_person": "rp-matrix1",
        "supporter": "sup-matrix1",
        "institution_rep": "inst-matrix1",
        "practitioner": "prac-mx0001",
        "coordinator": "coord-mx0001",
        "auditor": "aud-mx0001",
        "operator": "ops-mx0001",
    }
    may_list = {"harmed_person", "practitioner", "coordinator", "auditor"}
    leaks = []
    for agency, own, other in (("agency-a", "prac-amatrix", "prac-bmatrix"),
                               ("agency-b", "prac-bmatrix", "prac-amatrix")):  # fmt: skip
        for role, person in roles.items():
            who = world.token(role, person, agency=agency)
            demote = {**entry, "level": 1}  # A's entry, whoever asks
            r = await world.post("/practitioners", demote, who)
            allowed = (agency, role) == ("agency-a", "coordinator")
            if (r.status_code in (200, 201)) != allowed:
                leaks.append(f"{agency} {role} changing A's entry -> {r.status_code}")
            listed = await world.client.get("/practitioners", headers=who)
            if role in may_list:
                ids = {p["practitioner_id"] for p in listed.json()["practitioners"]}
                if other in ids or own not in ids:
                    leaks.append(f"{agency} {role} lists {sorted(ids)}")
            elif listed.status_code != 403:
                leaks.append(f"{agency} {role} listing -> {listed.status_code}")
            if other in listed.text:
                leaks.append(f"{agency} {role} sees {other}")
            await world.ok("/practitioners", entry, world.token("coordinator", COORD))
            await world.runtime.settle()
    assert leaks == []


async def test_qualifications_recorded_by_the_hub_feed_the_gates(world):
    """A practitioner the hub alone has recorded (StaffQualificationsRecorded, through the
    `hub` subscription's own handler) may be chosen and facilitate; once the hub records a
    lapse, the gates refuse them, and a newer registration of theirs counts again."""
    from mend_events.contracts.catalog.hub import StaffQualificationsRecorded
    from mend_testkit.directory import hub_event

    pid = "prac-hub0001"

    async def recorded(trained: bool) -> None:
        model = StaffQualificationsRecorded(
            agency_id="agency-a", person_id=pid, rj_trained=True,
            sexual_harm_trained=trained, level=2,
        )  # fmt: skip
        event = hub_event(model, f"staff:{pid}")
        async with world.runtime.pool.acquire() as conn, conn.transaction():
            await world.app.state.reactions.on_hub(conn, event)

    unknown = "case-hubq0000"
    await world.ok(f"/cases/{unknown}/open", {"harm_category": "sexual_assault",
                   "justice_stage": "none", "route": "self_referral"}, world.hp())  # fmt: skip
    r = await world.post(f"/cases/{unknown}/facilitator", {"practitioner_id": pid}, world.hp())
    assert r.status_code == 422, r.text  # nobody has recorded them yet

    await recorded(trained=True)
    case, s = "case-hubq0001", Setup(facilitator=pid)
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    listed = await world.client.get("/practitioners", headers=world.token("coordinator", COORD))
    assert pid in {p["practitioner_id"] for p in listed.json()["practitioners"]}

    await recorded(trained=False)  # the hub records the lapse
    r = await world.start(case, s)
    assert r.status_code == 422 and "sexual-harm" in r.text, r.text


# --- meetings and the harmed person's own materials (issue 20) -------------------------------


async def test_a_meeting_with_its_safety_plan_and_her_materials_through_the_api(world):
    """A contact meeting honours the plan risk recorded; each person answers for themself and
    sees what is theirs to see; her items reach staff only when shared, every opening recorded;
    the canary place and text nowhere in clear; a withdrawal cancels the meeting, naming it."""
    case, s = "case-meet0001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    fac, rp = world.prac(case), world.token("responsible_person", RP)
    auditor = world.token("auditor", "aud-0001")
    place = "Canary-Place-7f: the back room at Wrenfield Library"
    body = {"meeting_id": "meet-0001", "purpose": "contact", "session_id": "sess-0001",
            "timezone": "Europe/London", "channel": "in_person", "place": place,
            "arrangements": {"separate_arrival_departure": True}}  # fmt: skip
    r = await world.post(f"/cases/{case}/meetings", body, fac)
    assert r.status_code == 422 and r.json()["field"] == "arrangements", r.text
    assert "breaks" in r.json()["reason"] and "Wrenfield" not in r.text
    r = await world.post(f"/cases/{case}/meetings", {**body, "timezone": "Nowhere/Land"}, fac)
    assert r.status_code == 422 and r.json()["field"] == "timezone", r.text
    body["arrangements"]["breaks"] = True
    assert (await world.post(f"/cases/{case}/meetings", body, world.hp())).status_code == 403
    await world.ok(f"/cases/{case}/meetings", {**body, "arrangements_note": place}, fac)
    say = f"/cases/{case}/meetings/meet-0001/availability"
    await world.ok(say, {"available": True}, rp)
    supporter = world.token("supporter", SUP)
    assert (await world.post(say, {"available": True}, supporter)).status_code == 403

    def listed(headers):
        return world.client.get(f"/cases/{case}/meetings", headers=headers)

    [mine] = (await listed(world.hp())).json()["meetings"]
    assert (mine["place"], mine["timezone"], mine["availability"]) == (
        place, "Europe/London", {RP: True})  # fmt: skip
    assert "arrangements_note" not in mine  # a contact meeting's note: staff only
    staff = (await listed(fac)).json()
    assert staff["meetings"][0]["arrangements_note"] == place
    assert staff["safety_plans"] == {HP: {"separate_arrival_departure": True, "breaks": True,
                                          "support_person_present": False}}  # fmt: skip
    audited = (await listed(auditor)).json()
    assert "place" not in audited["meetings"][0] and "safety_plans" in audited
    assert "safety_plans" not in (await listed(rp)).json()

    # Her own items: hers until she shares one; the team opens it, each opening recorded.
    text = "Canary-Item-7f: why me, Thaddeus?"
    item = {"item_id": "item-0001", "kind": "question", "content": text}
    assert (await world.post(f"/cases/{case}/materials", item, fac)).status_code == 403
    await world.ok(f"/cases/{case}/materials", item, world.hp())
    opened = f"/cases/{case}/materials/item-0001"
    assert (await world.client.get(opened, headers=fac)).status_code == 403
    assert (await world.client.get(f"/cases/{case}/materials", headers=rp)).status_code == 403
    await world.ok(f"{opened}/share", None, world.hp())
    assert (await world.client.get(opened, headers=fac)).json()["content"] == text
    assert (await world.client.get(opened, headers=world.hp())).json()["content"] == text
    assert (await world.client.get(opened, headers=auditor)).status_code == 403
    reads = [e.metadata.actor_id for e in await world.runtime.store.read_stream(case)
             if e.event_type == "MaterialRead"]  # fmt: skip
    assert reads == [FAC, HP]
    await world.ok(f"{opened}/unshare", None, world.hp())
    assert (await world.client.get(f"/cases/{case}/materials", headers=fac)).json()[
        "materials"] == []  # fmt: skip

    await world.runtime.settle()
    schema = world.runtime.store.schema
    async with world.runtime.pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        for t in tables:
            dumped = await conn.fetchval(
                f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {schema}.{t[0]} t"
            )
            assert "Wrenfield" not in dumped and "Thaddeus" not in dumped, t[0]

    # His withdrawal from taking part halts the session and calls its meeting off, naming it.
    grant = world.grants[(case, RP, "take_part")]
    (withdrawal,) = await world.publish("consent", case, ConsentWithdrawn(
        participant_id=RP, target="scope", scope="take_part",
        grants=(GrantRef(grant_id=grant, scope="take_part"),)))  # fmt: skip
    await halts_of(world, case, 1)
    [off] = [e for e in await world.runtime.store.read_stream(case)
             if e.event_type == "MeetingCancelled"]  # fmt: skip
    assert off.data["cause_event_id"] == str(withdrawal.event_id)
    assert off.data["cause"] == "consent_withdrawn"
    [seen] = (await listed(world.hp())).json()["meetings"]
    assert seen["status"] == "cancelled" and seen["cancellation"]["cause"] == "halted"


async def test_the_agency_s_rule_pack_floor_keeps_sessions_apart_from_its_adoption_on(world):
    """Her pace is 0 days; under england-wales@1 (floor 0) the next session may follow at once;
    once the agency adopts england-wales@2 (floor 14), the gate keeps 14 days and names the pack.
    Each scheduling and start records the pack its gates were evaluated under."""
    from mend_events.commands.decider import CommandContext
    from mend_events.contracts.actors import Actor
    from mend_events.contracts.catalog.hub import RulePackAdopted, agency_stream
    from mend_sessions.commands import ScheduleSession
    from mend_testkit.directory import apply_hub_events, hub_event

    case, s = "case-floor001", Setup(min_gap_days=0)
    await world.prepare(case, s)
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    # Scheduled in process with the caller's own key; retried with it after the adoption below.
    service = world.app.state.service
    me = Actor(id=HP, role=Role.HARMED_PERSON, agency="agency-a")
    first = ScheduleSession.model_validate(world.session(s))

    async def schedule_first() -> Any:
        ctx = CommandContext(me, datetime.now(UTC), uuid4())
        return await service.schedule(case, first, ctx, "schedule-1")

    assert (await schedule_first()).events
    assert (await world.start(case, s)).status_code == 201
    await world.ok(f"/cases/{case}/sessions/sess-0001/complete", None, world.prac(case))
    adopted = RulePackAdopted(agency_id="agency-a", pack_id="england-wales", version=2)
    await apply_hub_events(world.runtime, [hub_event(adopted, agency_stream("agency-a"))])
    assert (await schedule_first()).events == ()  # the same request, whatever the pack now
    refused_by(
        await world.schedule(case, s, session_id="sess-0002", scheduled_for=soon),
        "minimum gap of 14 days (the agency's floor under rule pack england-wales@2) since last",
    )
    later = (datetime.now(UTC) + timedelta(days=15)).isoformat()
    r = await world.schedule(case, s, session_id="sess-0003", scheduled_for=later)
    assert r.status_code == 201, r.text
    stream = await world.runtime.store.read_stream(case)
    packs = [
        (e.event_type, e.data.get("session_id"), e.data["rule_pack"])
        for e in stream
        if e.event_type in ("SessionScheduled", "SessionStarted")
    ]
    assert packs == [
        ("SessionScheduled", "sess-0001", "england-wales@1"),
        ("SessionStarted", "sess-0001", "england-wales@1"),
        ("SessionScheduled", "sess-0003", "england-wales@2"),
    ]


async def test_a_support_volunteer_sees_when_and_how_of_the_meetings_asking_for_one_only(world):
    """A volunteer allocated as a support person (issue 21) lists the meetings whose plan asks
    for a support person: time, channel kind, arrangements and status; never the place, the
    note, who it is for, the safety plans, nor anything else of the case. A volunteer of another
    case of the agency, in another part, or whose allocation lapsed, gets nothing of it."""
    case, s = "case-vol00001", Setup()
    await world.prepare(case, s)
    assert (await world.schedule(case, s)).status_code == 201
    fac = world.prac(case)
    place = "Canary-Place-9v: the garden room at Ashcombe Hall"
    body = {"meeting_id": "meet-0001", "purpose": "contact", "session_id": "sess-0001",
            "timezone": "Europe/London", "channel": "in_person", "place": place,
            "arrangements_note": place,
            "arrangements": {"separate_arrival_departure": True, "breaks": True,
                             "support_person_present": True}}  # fmt: skip
    await world.ok(f"/cases/{case}/meetings", body, fac)
    # Her preparation meeting, which asks for no support person.
    plain = {"meeting_id": "meet-0002", "purpose": "preparation", "with_id": HP,
             "at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
             "timezone": "Europe/London", "channel": "video"}  # fmt: skip
    await world.ok(f"/cases/{case}/meetings", plain, fac)
    runtime, yesterday = world.runtime, (datetime.now(UTC) - timedelta(days=1)).date()
    await allocate_volunteer(runtime, case, "vol-0001aa", "support_person")
    await allocate_volunteer(runtime, "case-vol00002", "vol-0002aa", "support_person")
    await allocate_volunteer(runtime, case, "vol-0003aa", "conference_member")
    await allocate_volunteer(runtime, case, "vol-0004aa", "support_person", valid_until=yesterday)

    me = world.token("volunteer", "vol-0001aa")
    r = await world.client.get(f"/cases/{case}/meetings", headers=me)
    assert r.status_code == 200, r.text
    [seen] = r.json()["meetings"]
    assert seen["meeting_id"] == "meet-0001" and seen["arrangements"]["support_person_present"]
    assert set(seen) == {"meeting_id", "purpose", "at", "timezone", "channel", "arrangements",
                         "status"}  # fmt: skip
    assert "safety_plans" not in r.json() and "Ashcombe" not in r.text
    for path in (f"/cases/{case}", f"/cases/{case}/materials", f"/cases/{case}/notes",
                 f"/cases/{case}/letters", f"/cases/{case}/sessions/sess-0001/gates"):  # fmt: skip
        assert (await world.client.get(path, headers=me)).status_code == 403, path
    halt = await world.post(f"/cases/{case}/sessions/sess-0001/halt", {}, me)
    assert halt.status_code == 403, halt.text
    for other in ("vol-0002aa", "vol-0003aa", "vol-0004aa"):
        r = await world.client.get(
            f"/cases/{case}/meetings", headers=world.token("volunteer", other)
        )
        assert r.status_code == 403, (other, r.text)
