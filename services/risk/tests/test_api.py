"""The risk service through its HTTP API, on the real database (and relay to the broker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import PractitionerRegistered
from mend_events.contracts.vocabulary import ContactForm
from mend_events.messaging.cloudevents import to_message
from mend_events.security.practitioners import PractitionerDirectory
from mend_risk.app import build
from mend_risk.domain.answers import permits_in
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.refusals import clear_4xx
from mend_testkit.samples import delivered, practitioner_body

HP, RP, PRAC, SPECIALIST = "hp-alice01", "rp-bob0001", "prac-carol1", "prac-5e5e5e"
CASE = "case-0001aa"
F2F = {"form": "face_to_face", "with_responsible_person": True}
CONF_WITHOUT = {"form": "conference", "with_responsible_person": False}
UNSENT = {"form": "unsent_letter", "with_responsible_person": False}
NO_ORDERS = [
    {"kind": "protective_order", "status": "absent"},
    {"kind": "bail_or_licence_conditions", "status": "absent"},
]


@pytest.fixture
async def registrar(platform, topic_prefix):
    """Publishes practitioner registrations as the sessions service's relay would."""
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()

    async def register(
        agency: str,
        pid: str,
        level: int = 1,
        trained: bool = True,
        specialisms: tuple[str, ...] = ("survivor_specialist",),
        stream: str | None = None,  # "registry": as stored before the registry was split
    ) -> None:
        stream = stream or f"registry:{agency}"
        # As the sessions service records `POST /practitioners` (the testkit's sample body).
        body = {**practitioner_body(pid, level, specialisms), "sexual_harm_trained": trained}
        model = PractitionerRegistered(**body)
        event = delivered(
            "sessions", stream, model, actor="coord-dee01", role=Role.COORDINATOR, agency=agency
        )
        key, value, headers = to_message(event)
        await producer.send_and_wait(
            events_topic("sessions", topic_prefix), value, key=key, headers=headers
        )

    yield register
    await producer.stop()


async def known(runtime, agency: str, pid: str, **expected) -> None:
    """Wait until the risk service has consumed the registration (as every sign-off would)."""
    directory = PractitionerDirectory(runtime.schema)
    for _ in range(400):
        async with runtime.pool.acquire() as conn:
            record = await directory.get(conn, agency, pid)
        if record is not None and all(getattr(record, k) == v for k, v in expected.items()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pid} of {agency} never reached the risk service")


@pytest.fixture
async def risk(platform, unique, topic_prefix, registrar):
    async with running_service(build, "risk", platform, unique, topic_prefix) as running:
        # The case as the sessions service opened it, the responsible person enrolled.
        await open_case(running[2], CASE, HP, members={RP: "responsible_person"})
        await allocate(running[2], CASE, PRAC)  # through the hub's events, not the token
        await registrar("agency-a", SPECIALIST)
        await known(running[2], "agency-a", SPECIALIST)
        yield running


@pytest.fixture
def prac(token):
    return token("practitioner", PRAC)


async def events_of(runtime, case: str = CASE) -> list[str]:
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT event_type FROM {runtime.schema}.events WHERE stream_id = $1 "
            f"ORDER BY stream_version",
            case,
        )
    return [r["event_type"] for r in rows]


async def post(client, path: str, body: dict, headers: dict, status: int = 201) -> dict:
    r = await client.post(f"/cases/{CASE}{path}", json=body, headers=headers)
    assert r.status_code == status, (path, r.text)
    return r.json()


async def assess(
    client, headers, *, forms=(F2F,), factors=(), decision="proceed", stage="full", **completion
) -> str:
    """A whole assessment through the API; returns its id."""
    assessment_id = str(uuid4())
    await post(client, "/assessments", {"assessment_id": assessment_id, "stage": stage}, headers)
    for factor in (*NO_ORDERS, *factors):
        await post(
            client, "/risk-factors", {"assessment_id": assessment_id, "factor": factor}, headers
        )
    body = {
        "assessment_id": assessment_id,
        "decision": decision,
        "permitted_forms": list(forms),
        "reasons": ["suitable_with_safeguards"],
        "signed_off_by": SPECIALIST,
        **completion,
    }
    await post(client, "/assessment-completions", body, headers)
    return assessment_id


async def test_assess_plan_flag_and_read_the_risk_position(risk, prac, token):
    client, _, runtime = risk
    assessment_id = await assess(client, prac, forms=(F2F, CONF_WITHOUT))
    plan = {
        "assessment_id": assessment_id,
        "agreed_with": HP,
        "separate_arrival_departure": True,
        "support_person_present": True,
        "breaks": True,
        "exit_plan": True,
        "code_word_set": True,
    }
    await post(client, "/safety-plans", plan, prac)
    await post(client, "/safety-plans", plan, prac, status=200)  # already agreed exactly so
    flag_id = str(uuid4())
    raised = await post(
        client,
        "/flags",
        {"flag_id": flag_id, "severity": "severe", "category": "coercive_control"},
        prac,
    )
    assert [e["type"] for e in raised["events"]] == ["RiskFlagRaised", "RiskReassessmentDue"]

    # No settle: a read waits for the read model to hold every event of the case.
    position = (await client.get(f"/cases/{CASE}/risk", headers=prac)).json()
    assert position["assessment"]["decision"] == "proceed"
    assert position["assessment"]["governs_contact"] is True
    assert position["assessment"]["permitted_forms"] == [CONF_WITHOUT, F2F]
    assert [(f["flag_id"], f["severity"]) for f in position["flags"]] == [(flag_id, "severe")]
    assert position["reassessment_due"] is True
    assert position["reassessment_triggers"][0]["trigger"] == "risk_flag_raised"
    permits = (
        await client.get(f"/cases/{CASE}/permits", params={"form": "face_to_face"}, headers=prac)
    ).json()
    assert permits["permitted"] is True and permits["severe_flags"] == [flag_id]

    await post(
        client,
        "/flag-resolutions",
        {"flag_id": flag_id, "reason": "risk_addressed", "note": "safety plan agreed"},
        prac,
    )
    await assess(client, prac, forms=(UNSENT,), decision="unsent_letter_only")
    position = (await client.get(f"/cases/{CASE}/risk", headers=prac)).json()
    assert position["flags"] == [] and position["reassessment_due"] is False
    assert position["assessment"]["permitted_forms"] == [UNSENT]
    detail = (await client.get(f"/cases/{CASE}/assessments/{assessment_id}", headers=prac)).json()
    assert {f["kind"] for f in detail["factors"]} == {
        "protective_order",
        "bail_or_licence_conditions",
    }
    assert detail["safety_plans"][0]["agreed_with"] == HP
    # The resolution note is sealed in the store.
    async with runtime.pool.acquire() as conn:
        raw = await conn.fetchval(
            f"SELECT data::text FROM {runtime.schema}.events WHERE event_type = 'RiskFlagResolved'"
        )
    assert "safety plan agreed" not in raw


async def test_rule_breaking_commands_are_a_clear_4xx_and_write_nothing(risk, prac, token):
    client, _, runtime = risk
    assessment_id = str(uuid4())
    await post(client, "/assessments", {"assessment_id": assessment_id, "stage": "full"}, prac)
    order = {
        "kind": "protective_order",
        "status": "present",
        "severity": "high",
        "carve_out": False,
    }
    for factor in (order, NO_ORDERS[1]):
        await post(
            client, "/risk-factors", {"assessment_id": assessment_id, "factor": factor}, prac
        )
    flag_id = str(uuid4())
    await post(client, "/flags", {"flag_id": flag_id, "severity": "low", "category": "other"}, prac)
    await post(client, "/flag-resolutions", {"flag_id": flag_id, "reason": "raised_in_error"}, prac)
    before = await events_of(runtime)

    completion = {
        "assessment_id": assessment_id,
        "decision": "proceed",
        "reasons": ["suitable_with_safeguards"],
        "signed_off_by": SPECIALIST,
    }
    cases = [
        # an assessment completed without a specialist's sign-off
        (
            prac,
            "/assessment-completions",
            {**completion, "permitted_forms": [CONF_WITHOUT], "signed_off_by": None},
            422,
            "signed_off_by",
            "sign",
        ),
        # face-to-face while a no-contact order stands with no carve-out
        (
            prac,
            "/assessment-completions",
            {**completion, "permitted_forms": [F2F]},
            422,
            "permitted_forms",
            "protective order stands with no carve-out",
        ),
        # an unsent-letter-only decision that permits more than an unsent letter
        (
            prac,
            "/assessment-completions",
            {
                **completion,
                "decision": "unsent_letter_only",
                "permitted_forms": [UNSENT, CONF_WITHOUT],
            },
            422,
            "permitted_forms",
            "unsent_letter",
        ),
        # a flag resolved twice
        (
            prac,
            "/flag-resolutions",
            {"flag_id": flag_id, "reason": "raised_in_error"},
            422,
            "flag_id",
            "already resolved",
        ),
        # an unsent letter with the responsible person cannot exist
        (
            prac,
            "/assessment-completions",
            {**completion, "permitted_forms": [{**UNSENT, "with_responsible_person": True}]},
            422,
            "permitted_forms.0.with_responsible_person",
            "never involves",
        ),
        # a participant may not write risk, not even about themself
        (
            token("harmed_person", HP),
            "/flags",
            {"flag_id": str(uuid4()), "severity": "low", "category": "other"},
            403,
            None,
            "risk.write",
        ),
        # a practitioner without the case allocated
        (
            token("practitioner", "prac-dave01"),
            "/flags",
            {"flag_id": str(uuid4()), "severity": "low", "category": "other"},
            403,
            None,
            "alloc",
        ),
        # an auditor reads and never writes
        (
            token("auditor", "aud-erin01"),
            "/flags",
            {"flag_id": str(uuid4()), "severity": "low", "category": "other"},
            403,
            None,
            None,
        ),
        # the actor never travels in a body
        (
            prac,
            "/flags",
            {"flag_id": str(uuid4()), "severity": "low", "category": "other", "actor": PRAC},
            422,
            "actor",
            None,
        ),
        (
            {},
            "/flags",
            {"flag_id": str(uuid4()), "severity": "low", "category": "other"},
            401,
            None,
            None,
        ),
    ]
    for headers, path, body, status, field, words in cases:
        r = await client.post(f"/cases/{CASE}{path}", json=body, headers=headers)
        clear_4xx(r, status, field, words)
    assert await events_of(runtime) == before

    bad_reads = [
        ({"form": "face_to_face", "at": "2025-01-01T10:00:00"}, "at"),  # no timezone
        ({"form": "carrier_pigeon"}, "form"),
        ({"form": "letter", "with_responsible_person": "false"}, "with_responsible_person"),
    ]
    for params, field in bad_reads:
        r = await client.get(f"/cases/{CASE}/permits", params=params, headers=prac)
        assert r.status_code == 422 and r.json()["field"] == field, r.text


async def test_participants_read_only_their_own_safety_plan(risk, prac, token):
    client, _, runtime = risk
    assessment_id = await assess(client, prac)
    for person in (HP, RP):
        await post(
            client,
            "/safety-plans",
            {
                "assessment_id": assessment_id,
                "agreed_with": person,
                "separate_arrival_departure": True,
                "support_person_present": person == HP,
                "breaks": True,
                "exit_plan": True,
                "code_word_set": person == HP,
            },
            prac,
        )
    hp, rp = token("harmed_person", HP), token("responsible_person", RP)
    mine = (await client.get(f"/cases/{CASE}/safety-plans", headers=rp)).json()["safety_plans"]
    assert [p["agreed_with"] for p in mine] == [RP]
    mine = (await client.get(f"/cases/{CASE}/safety-plans", headers=hp)).json()["safety_plans"]
    assert [p["agreed_with"] for p in mine] == [HP]
    for path in ("/risk", f"/assessments/{assessment_id}", "/permits?form=letter"):
        for participant in (hp, rp):
            r = await client.get(f"/cases/{CASE}{path}", headers=participant)
            assert r.status_code == 403, (path, r.text)
    auditor = token("auditor", "aud-erin01")
    assert (await client.get(f"/cases/{CASE}/risk", headers=auditor)).status_code == 200
    staff = (await client.get(f"/cases/{CASE}/safety-plans", headers=prac)).json()
    assert {p["agreed_with"] for p in staff["safety_plans"]} == {HP, RP}
    # Another agency's practitioner, allocated to the same case id by their agency, sees nothing.
    await allocate(runtime, CASE, "prac-zed001", agency="agency-b")
    other = token("practitioner", "prac-zed001", agency="agency-b")
    assert (await client.get(f"/cases/{CASE}/risk", headers=other)).status_code == 403


async def test_permits_now_and_in_the_past_from_the_projection_equal_a_replay(risk, prac):
    client, app, runtime = risk
    service = app.state.service
    moments = [datetime.now(UTC)]  # before anything
    await assess(client, prac, stage="initial", forms=(F2F,))
    moments.append(datetime.now(UTC))  # an initial assessment only: no contact
    await assess(client, prac, forms=(F2F, CONF_WITHOUT, UNSENT), valid_for_days=1)
    moments.append(datetime.now(UTC))  # a full one permits
    flag_id = str(uuid4())
    await post(
        client,
        "/flags",
        {"flag_id": flag_id, "severity": "severe", "category": "safety_threat"},
        prac,
    )
    moments.append(datetime.now(UTC))  # a severe flag stands
    await post(client, "/flag-resolutions", {"flag_id": flag_id, "reason": "risk_addressed"}, prac)
    await assess(
        client,
        prac,
        decision="indirect_only",
        forms=({"form": "indirect", "with_responsible_person": True}, UNSENT),
    )
    moments.append(datetime.now(UTC))  # indirect only
    await assess(client, prac, decision="do_not_proceed", forms=())
    moments.append(datetime.now(UTC))  # nothing

    # Every completion's own instant, a microsecond either side, and the stale edge.
    await runtime.settle()
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT completed_at, valid_until FROM {runtime.schema}.risk_assessments"
        )
    for row in rows:
        moments += [row["completed_at"] + timedelta(microseconds=d) for d in (-1, 0, 1)]
        moments += [row["valid_until"], row["valid_until"] - timedelta(microseconds=1)]

    asks = [(form, None) for form in ContactForm] + [
        (ContactForm.CONFERENCE, False),
        (ContactForm.FAMILY_CIRCLE, False),
    ]
    permitted_at = {}
    replayed_state = await service.replay(CASE)  # one fold of the whole stream, asked often
    for at in moments:
        for form, involved in asks:
            projected = await service.permits(CASE, form, at, with_responsible_person=involved)
            replayed = permits_in(replayed_state, form, at, with_responsible_person=involved)
            assert projected == replayed, (at, form, involved)
            permitted_at[(at, form, involved)] = projected["permitted"]
    t0, t_initial, t_full, t_flag, t_indirect, t_none = moments[:6]
    assert not any(permitted_at[(t, f, i)] for t in (t0, t_initial, t_none) for f, i in asks)
    assert permitted_at[(t_full, ContactForm.FACE_TO_FACE, None)]
    assert permitted_at[(t_full, ContactForm.CONFERENCE, False)]
    assert not permitted_at[(t_full, ContactForm.CONFERENCE, None)]  # with them: not permitted
    assert permitted_at[(t_indirect, ContactForm.INDIRECT, None)]
    assert not permitted_at[(t_indirect, ContactForm.FACE_TO_FACE, None)]
    flagged = await service.permits(CASE, ContactForm.FACE_TO_FACE, t_flag)
    assert flagged["permitted"] and flagged["severe_flags"] == [flag_id]

    # The HTTP answer is the projection's, now and for a past moment.
    for at in (None, t_full):
        params = {"form": "face_to_face"} | ({"at": at.isoformat()} if at else {})
        r = await client.get(f"/cases/{CASE}/permits", params=params, headers=prac)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["permitted"] is (at is not None), body
        if at is not None:
            expected = await service.permits_by_replay(CASE, ContactForm.FACE_TO_FACE, at)
            assert body["assessment_id"] == expected["assessment_id"]
            assert body["reason"] == expected["reason"]
    # A rebuilt projection answers the same.
    await runtime.runners[0].rebuild()
    for at in moments[:6]:
        assert await service.permits(
            CASE, ContactForm.FACE_TO_FACE, at
        ) == await service.permits_by_replay(CASE, ContactForm.FACE_TO_FACE, at)


async def test_a_decision_is_signed_off_only_by_a_qualified_practitioner_of_the_cases_agency(
    risk, prac, registrar
):
    """Issue 14 item 3: a sign-off naming an unregistered id, another agency's practitioner,
    or one not trained in sexual-harm casework is refused and writes nothing."""
    client, app, runtime = risk
    app.state.service.signer_wait_s = 0.2
    await registrar("agency-b", "prac-bonly1", level=3)
    await registrar("agency-a", "prac-lapsed1", trained=False)
    await known(runtime, "agency-b", "prac-bonly1")
    await known(runtime, "agency-a", "prac-lapsed1")
    assessment_id = str(uuid4())
    await post(client, "/assessments", {"assessment_id": assessment_id, "stage": "full"}, prac)
    for factor in NO_ORDERS:
        await post(
            client, "/risk-factors", {"assessment_id": assessment_id, "factor": factor}, prac
        )
    before = await events_of(runtime)
    completion = {
        "assessment_id": assessment_id,
        "decision": "proceed",
        "permitted_forms": [F2F],
        "reasons": ["suitable_with_safeguards"],
    }
    for signer in ("prac-nobody1", "prac-bonly1", "prac-lapsed1"):
        body = {**completion, "signed_off_by": signer}
        r = await client.post(f"/cases/{CASE}/assessment-completions", json=body, headers=prac)
        assert r.status_code == 422, (signer, r.text)
        assert r.json()["field"] == "signed_off_by"
        assert signer not in r.text  # never echo a client's value
    assert await events_of(runtime) == before
    # A lapsed qualification restored (a later registration supersedes): accepted, even after
    # another agency's coordinator "demoted" that id on the legacy single stream (that entry is
    # the other agency's).
    await registrar("agency-a", "prac-lapsed1", trained=True)
    await known(runtime, "agency-a", "prac-lapsed1", sexual_harm_trained=True)
    await registrar("agency-b", "prac-lapsed1", trained=False, stream="registry")
    await known(runtime, "agency-b", "prac-lapsed1", sexual_harm_trained=False)
    body = {**completion, "signed_off_by": "prac-lapsed1"}
    r = await client.post(f"/cases/{CASE}/assessment-completions", json=body, headers=prac)
    assert r.status_code == 201, r.text


async def test_under_scotland_2_a_full_assessment_records_its_factors_and_shows_an_indicator(
    risk, prac
):
    from mend_events.contracts.catalog.hub import RulePackAdopted, StaffEnrolled, agency_stream
    from mend_testkit.directory import apply_hub_events, hub_event

    client, app, runtime = risk
    # A completion retried in process with its own key after the adoption is the same request
    # (the key is bound to the request as made, not to the pack in force when it ran).
    from mend_events.commands.decider import CommandContext
    from mend_events.contracts.actors import Actor
    from mend_risk.commands import CompleteRiskAssessment, StartRiskAssessment

    service = app.state.service
    me = Actor(id=PRAC, role=Role.PRACTITIONER, agency="agency-a")

    def ctx() -> CommandContext:
        return CommandContext(me, datetime.now(UTC), uuid4())

    first_id = uuid4()
    await service.execute(CASE, StartRiskAssessment(assessment_id=first_id, stage="full"), ctx())
    for factor in NO_ORDERS:
        body = {"assessment_id": str(first_id), "factor": factor}
        await post(client, "/risk-factors", body, prac)
    done = CompleteRiskAssessment.model_validate({
        "assessment_id": first_id, "decision": "proceed", "permitted_forms": [F2F],
        "reasons": ["suitable_with_safeguards"], "signed_off_by": SPECIALIST,
    })  # fmt: skip
    assert (await service.execute(CASE, done, ctx(), "complete-1")).events
    # An agency the hub speaks for: its staff are those it enrolled.
    enrolled = StaffEnrolled(agency_id="agency-a", person_id=PRAC, role=Role.PRACTITIONER)
    adopted = RulePackAdopted(agency_id="agency-a", pack_id="scotland", version=2)
    stream = agency_stream("agency-a")
    await apply_hub_events(runtime, [hub_event(enrolled, stream), hub_event(adopted, stream)])
    assert (await service.execute(CASE, done, ctx(), "complete-1")).events == ()
    assessment_id = str(uuid4())
    await post(client, "/assessments", {"assessment_id": assessment_id, "stage": "full"}, prac)
    for factor in (*NO_ORDERS, {"kind": "self_harm", "status": "present", "severity": "high"}):
        body = {"assessment_id": assessment_id, "factor": factor}
        await post(client, "/risk-factors", body, prac)
    path = f"/cases/{CASE}/assessments/{assessment_id}"
    shown = (await client.get(path, headers=prac)).json()["indicator"]
    assert (shown["rule_pack"], shown["score"], shown["present"], shown["decides"]) == (
        "scotland@2",
        9,
        ["self_harm"],
        False,
    )
    assert shown["missing"] == ["coercive_control", "ongoing_relationship", "retraumatisation"]
    completion = {
        "assessment_id": assessment_id,
        "decision": "proceed",
        "permitted_forms": [F2F],
        "reasons": ["suitable_with_safeguards"],
        "signed_off_by": SPECIALIST,
    }
    r = await client.post(f"/cases/{CASE}/assessment-completions", json=completion, headers=prac)
    clear_4xx(r, 422, "assessment_id")
    for kind in shown["missing"]:
        factor = {"kind": kind, "status": "absent"}
        await post(
            client, "/risk-factors", {"assessment_id": assessment_id, "factor": factor}, prac
        )
    await post(client, "/assessment-completions", completion, prac)
    detail = (await client.get(path, headers=prac)).json()
    assert detail["completion"]["rule_pack"] == "scotland@2"
    assert (detail["indicator"]["rule_pack"], detail["indicator"]["missing"]) == ("scotland@2", [])
