"""Rule packs end to end (issue #21): a risk decision made under England and Wales v1 (the
default: valid for 90 days), then the agency adopting v2 (at most 60 days) at the hub. Through
the real broker the risk service hears the adoption and judges the standing decision by v2
from the adoption on: a `RiskDecisionRevalidated` caused by the adoption, so the case's audit
history names both packs; the sessions service's gate then permits contact for 60 days from
the decision, no longer 90. Before the adoption nothing changes (v1 as of its time)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mend_aftercare.app import build as build_aftercare
from mend_audit.reader import AuditReader
from mend_consent.app import build as build_consent
from mend_events import rules
from mend_events.app.db import create_pool
from mend_events.contracts.catalog.hub import RulePackAdopted
from mend_events.contracts.catalog.risk import RiskAssessmentCompleted, RiskDecisionRevalidated
from mend_events.contracts.vocabulary import ContactForm
from mend_events.security.trust.tables import TrustTables
from mend_hub.app import build as build_hub
from mend_risk.app import build as build_risk
from mend_risk.domain.queries import permits
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocator
from mend_testkit.fixtures import running_service
from mend_testkit.hub import A, Callers, onboard
from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.samples import delivered
from mend_testkit.waiting import wait_until

F2F = "face_to_face"
BUILDS = {
    "consent": (build_consent, {"lapse_interval": 0.25}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}


@pytest.fixture
async def platform_of_five(platform, unique, topic_prefix, token):
    async with contextlib.AsyncExitStack() as stack:
        transports, runtimes, apps = {}, {}, {}
        for service, (build, options) in BUILDS.items():
            _, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix, **options)
            )
            transports[service] = httpx.ASGITransport(app=app)
            runtimes[service] = runtime
            apps[service] = app
        hub, _, hub_rt = await stack.enter_async_context(
            running_service(build_hub, "hub", platform, unique, topic_prefix)
        )
        runtimes["hub"] = hub_rt
        driver = await stack.enter_async_context(
            Driver.connect(token, transports=transports, timeout=30,
                           allocate=allocator([runtimes[s] for s in BUILDS]))
        )  # fmt: skip
        pool = await create_pool(platform.database_url, min_size=1, max_size=2)
        stack.push_async_callback(pool.close)
        schemas = {s: rt.schema for s, rt in runtimes.items()}
        yield driver, hub, runtimes, apps, AuditReader(pool, schemas=schemas)


async def test_a_decision_under_v1_is_judged_by_v2_from_the_adoption_on(platform_of_five, token):
    driver, hub, runtimes, apps, reader = platform_of_five
    case = new_case(driver, "rule-pack", "the agency adopts a revised risk framework")
    await case.up_to_contact([F2F])
    risk = runtimes["risk"]

    async def risk_events():
        return await risk.store.read_stream(case.id)

    completions = [e for e in await risk_events() if e.event_type == "RiskAssessmentCompleted"]
    completed = completions[-1]  # the full assessment, after the initial one
    decision = completed.decode()
    assert isinstance(decision, RiskAssessmentCompleted)
    decided_at = completed.metadata.occurred_at
    assert decision.rule_pack == "england-wales@1"
    assert decision.valid_until == decided_at + timedelta(days=90)

    # The agency at the hub, its coordinator adopting v2.
    who = Callers(token)
    await onboard(hub, who, A)
    r = await hub.post(f"/agencies/{A}/rule-pack", json={"pack_id": "england-wales",
                       "version": 2}, headers=who.coordinator())  # fmt: skip
    assert r.status_code == 201, r.text
    [adopted] = r.json()["events"]
    assert adopted["type"] == "RulePackAdopted"

    async def revalidated():
        found = [e for e in await risk_events() if e.event_type == "RiskDecisionRevalidated"]
        return found[0] if found else None

    event = await wait_until(revalidated, timeout=30)
    model = event.decode()
    assert isinstance(model, RiskDecisionRevalidated)
    assert model.rule_pack == "england-wales@2"
    assert model.assessment_id == decision.assessment_id
    assert model.valid_until == decided_at + timedelta(days=60)
    assert str(event.metadata.causation_id) == adopted["event_id"]
    adopted_at = event.metadata.occurred_at

    # The risk domain: v1's 90 days before the adoption, v2's 60 from it on.
    state, _ = await apps["risk"].state.service.commands.load(case.id)
    assert permits(state, ContactForm.FACE_TO_FACE, adopted_at - timedelta(microseconds=1))
    assert permits(state, ContactForm.FACE_TO_FACE, decided_at + timedelta(days=59))
    assert not permits(state, ContactForm.FACE_TO_FACE, decided_at + timedelta(days=61))

    # The sessions service's gate view, fed over the broker: the same 60 days.
    sessions = runtimes["sessions"]

    async def gate_shortened() -> bool:
        async with sessions.pool.acquire() as conn:
            later = await apps["sessions"].state.service.risk.permitted(
                conn, case.id, decided_at + timedelta(days=61)
            )
            sooner = await apps["sessions"].state.service.risk.permitted(
                conn, case.id, decided_at + timedelta(days=59)
            )
        return not later and bool(sooner)

    await wait_until(gate_shortened, timeout=30)

    # The audit history names both packs, the second caused by the adoption.
    doc = await reader.history(case.id)
    packs = [
        (i["type"], i["facts"].get("rule_pack"))
        for i in doc["timeline"]
        if i["type"] in ("RiskAssessmentCompleted", "RiskDecisionRevalidated")
    ]
    assert packs == [
        *[("RiskAssessmentCompleted", "england-wales@1")] * len(completions),
        ("RiskDecisionRevalidated", "england-wales@2"),
    ]


async def test_a_decision_made_while_an_adoption_is_recorded_waits_for_it(platform_of_five):
    """The adoption's inbox transaction holds the agency's rule-pack lock from recording the
    pack until it has judged the standing decisions again. A decision arriving in that moment
    read the trust snapshot (reloaded only once the adoption commits) and was appended under
    the old pack after the adoption had looked: v1's 90 days, never judged by v2. It now waits
    on the lock and is made under v2 (before the fix nothing waited: this test failed)."""
    driver, _, runtimes, apps, _ = platform_of_five
    case = new_case(driver, "rule-pack-race", "a decision in the moment of an adoption")
    people = await case.up_to_preparation([F2F])
    for person in people:
        await case.prepare(person)
    for person in people:
        prepared = f"prepared:{case.cast.short(person)}"
        await case.wait_reassessment_due(prepared, "case_stage_changed")
    risk = runtimes["risk"]
    agency = await apps["risk"].state.service.case_agency(case.id)
    adoption = delivered(
        "hub", f"agency-{agency}", RulePackAdopted(agency_id=agency, pack_id="england-wales",
        version=2), agency=agency, at=datetime.now(UTC) - timedelta(seconds=1),
    )  # fmt: skip

    async with risk.pool.acquire() as conn:
        holder = conn.get_server_pid()

        async def waiting_on_the_lock() -> bool:
            # An advisory lock this adoption's transaction holds, not any advisory wait on the
            # server: another test (a parallel worker's, a migration) may be waiting on its own.
            return bool(
                await risk.pool.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND $1 = ANY(pg_blocking_pids(pid))",
                    holder,
                )
            )

        recording = conn.transaction()
        await recording.start()
        try:
            await TrustTables(risk.schema).apply(conn, adoption)  # as the hub consumer does
            deciding = asyncio.create_task(
                case.assess((F2F, True), valid_for_days=None, safety_plan=False)
            )
            await wait_until(waiting_on_the_lock, timeout=30)
            completions = [
                e for e in await risk.store.read_stream(case.id)
                if e.event_type == "RiskAssessmentCompleted"
            ]  # fmt: skip
            assert len(completions) == 1  # the initial one only: the full one waits
        finally:
            await recording.commit()
        await deciding
    completed = [
        e for e in await risk.store.read_stream(case.id)
        if e.event_type == "RiskAssessmentCompleted"
    ][-1]  # fmt: skip
    latest = completed.decode()
    assert isinstance(latest, RiskAssessmentCompleted)
    assert latest.rule_pack == "england-wales@2"  # and v2's default validity, not v1's
    assert latest.valid_until - completed.metadata.occurred_at == timedelta(
        days=rules.load("england-wales", 2).risk.default_validity_days
    )
