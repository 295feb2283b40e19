"""The journeys of issue 8 end to end: the four services run in process (their apps, stores,
relays and consumers) on the real broker and database, on fresh schemas and one topic prefix,
and `mend_testkit.journeys` drives them through their HTTP APIs as the people of a case would.

After each journey, the audit (replayed from the four test schemas, as `mend audit` reads them)
shows every step, and every consequence names its cause (a withdrawal -> the session it halted
-> the after-care it triggered); `verify` passes on the chains and on Kafka; then one row
changed by a superuser makes `verify` fail, naming that row.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from bus_helpers import wait_until
from mend_aftercare.app import build as build_aftercare
from mend_audit.reader import AuditReader
from mend_audit.render import render_history
from mend_consent.app import build as build_consent
from mend_events.app.db import create_pool
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocator
from mend_testkit.fixtures import running_service
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import Journey
from mend_testkit.journeys.stories import (
    acknowledgement_withdrawn,
    causation_problems,
    complete_journey,
    consent_lapsed,
    halted_conference,
    risk_flag_in_meeting,
    verify_published,
    withdrawal_during_preparation,
    withdrawal_while_scheduled,
)

BUILDS = {
    "consent": (build_consent, {"lapse_interval": 0.25}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}


@dataclass
class Mend:
    driver: Driver
    reader: AuditReader
    schemas: dict[str, str]


@pytest.fixture
async def mend(platform, unique, topic_prefix, token) -> AsyncIterator[Mend]:
    """The four services on one topic prefix, a driver over their ASGI apps, and an audit
    reader on their schemas (with the test's topics for the Kafka check)."""
    async with contextlib.AsyncExitStack() as stack:
        transports, schemas, runtimes = {}, {}, []
        for service, (build, options) in BUILDS.items():
            _, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix, **options)
            )
            transports[service] = httpx.ASGITransport(app=app)
            schemas[service] = runtime.schema
            runtimes.append(runtime)
        pool = await create_pool(platform.database_url, min_size=1, max_size=4)
        stack.push_async_callback(pool.close)
        reader = AuditReader(
            pool, schemas=schemas, bootstrap=platform.kafka_bootstrap, topic_prefix=topic_prefix
        )

        driver = await stack.enter_async_context(
            Driver.connect(token, transports=transports, timeout=30, allocate=allocator(runtimes))
        )
        yield Mend(driver, reader, schemas)


async def audited(mend: Mend, journey: Journey) -> dict[str, Any]:
    """The case's audit history: every step there, every consequence linked to its cause, and
    the chains and Kafka verified."""
    doc = await mend.reader.history(journey.case_id)
    assert causation_problems(journey, doc) == [], render_history(doc)
    report = await verify_published(mend.reader)
    assert report.ok, "\n".join(report.lines())
    assert all(s.messages == s.events for s in report.services), report.lines()
    return doc


def item(doc: dict[str, Any], event_id: Any) -> dict[str, Any]:
    return next(i for i in doc["timeline"] if i["event_id"] == str(event_id))


def types(doc: dict[str, Any]) -> list[str]:
    return [i["type"] for i in doc["timeline"]]


async def tampered_is_named(
    mend: Mend, admin_conn: asyncpg.Connection, journey: Journey, name: str, service: str
) -> None:
    """A superuser changes one stored event (bypassing the immutability trigger): `verify`
    fails and names that row, in the chain and against its copy on Kafka."""
    doc = await mend.reader.history(journey.case_id)
    target = item(doc, journey.events[name])
    schema = mend.schemas[service]
    async with admin_conn.transaction():
        await admin_conn.execute("SET LOCAL session_replication_role = replica")
        changed = await admin_conn.execute(
            f"UPDATE {schema}.events SET data = data || '{{\"tampered\": true}}'::jsonb "
            f"WHERE event_id = $1",
            journey.events[name],
        )
    assert changed == "UPDATE 1"
    report = await mend.reader.verify()
    assert not report.ok
    row = (journey.case_id, target["stream_version"])
    named = {
        (p.kind, p.service, p.stream_id, p.stream_version)
        for p in report.problems
        if p.kind != "kafka_unpublished"  # a late reaction still on its way is no break
    }
    assert named == {("chain", service, *row), ("kafka_mismatch", service, *row)}, report.lines()
    lines = "\n".join(report.lines())
    assert "FAILED" in lines
    assert f"{service} stream {journey.case_id} version {target['stream_version']}" in lines
    assert "content does not match its hash" in lines


# --------------------------------------------------------------------------------------------


async def test_the_complete_journey(mend, admin_conn):
    j = await complete_journey(mend.driver)
    doc = await audited(mend, j)
    steps = types(doc)
    for kind in (
        "CaseOpened",
        "FacilitatorChosen",
        "PreferencesSet",
        "ConsentGiven",
        "AcknowledgementRecorded",
        "RiskAssessmentCompleted",
        "SafetyPlanAgreed",
        "PreparationSessionHeld",
        "SessionScheduled",
        "SessionStarted",
        "SessionCompleted",
        "AgreementReached",
        "CommitmentRecorded",
        "AftercareOffered",
        "AftercareAccepted",
        "CheckInCompleted",
        "ReferralMade",
        "DesistancePlanAccepted",
        "OutcomeMeasureRecorded",
        "AftercareClosed",
        "CaseClosed",
    ):
        assert kind in steps, kind
    # In the order a practitioner walks it, and nothing halted on the way.
    walk = ("opened", "acknowledged", "suitability_assessed", "prepared:hp", "prepared:rp")
    walk += ("assessed", "completed:letters", "agreement", "aftercare_closed", "case_closed")
    order = [j.events[n] for n in walk]
    seqs = [item(doc, e)["seq"] for e in order]
    assert seqs == sorted(seqs)
    assert doc["halts"] == []
    state = doc["state"]
    assert state["sessions"]["state"]["status"] == "closed"
    assert state["aftercare"]["state"]["status"] == "closed"
    # The full assessment answered what the preparations made due; the agreement asks anew.
    assert state["risk"]["reassessment_due"] is True
    await tampered_is_named(mend, admin_conn, j, "agreement", "sessions")


async def test_withdrawal_during_preparation(mend, admin_conn):
    j = await withdrawal_during_preparation(mend.driver)
    doc = await audited(mend, j)
    assert "SessionScheduled" not in types(doc) and "SessionHalted" not in types(doc)
    (withdrawal,) = doc["halts"]
    assert (withdrawal["kind"], withdrawal["who"]["role"]) == ("withdrawal", "harmed_person")
    assert withdrawal["facts"]["reason"] is None  # none given, none owed
    assert [c["type"] for c in withdrawal["consequences"]] == ["AftercareOffered"]
    await tampered_is_named(mend, admin_conn, j, "withdrawn", "consent")


async def test_a_severe_risk_flag_during_a_meeting(mend, admin_conn):
    j = await risk_flag_in_meeting(mend.driver)
    doc = await audited(mend, j)
    (halt,) = [h for h in doc["halts"] if h["type"] == "SessionHalted"]
    assert halt["cause"]["type"] == "RiskFlagRaised"
    assert halt["cause"]["who"]["role"] == "practitioner"
    assert halt["facts"]["cause"] == "risk_flag"
    caused = sorted(c["type"] for c in halt["consequences"])
    assert caused == ["AftercareOffered", "RiskReassessmentDue"]
    text = render_history(doc)
    assert f"<- caused by #{item(doc, j.events['flag_raised'])['seq']} RiskFlagRaised" in text
    await tampered_is_named(mend, admin_conn, j, "halted:meeting", "sessions")


async def test_the_harmed_person_halts_a_conference(mend, admin_conn):
    j = await halted_conference(mend.driver)
    doc = await audited(mend, j)
    (halt,) = doc["halts"]
    assert halt["type"] == "SessionHalted" and halt["cause"] is None  # no reason owed (R3)
    assert (halt["who"]["actor_id"], halt["who"]["role"]) == (j.cast.harmed, "harmed_person")
    assert halt["facts"]["cause"] == "participant_halt"
    assert sorted(c["type"] for c in halt["consequences"]) == [
        "AftercareOffered",
        "RiskReassessmentDue",
    ]
    assert "the act of the person named (no reason is owed)" in render_history(doc)
    await tampered_is_named(mend, admin_conn, j, "started:conference", "sessions")


async def test_the_responsible_person_withdraws_acknowledgement(mend, admin_conn):
    j = await acknowledgement_withdrawn(mend.driver)
    doc = await audited(mend, j)
    withdrawal = next(h for h in doc["halts"] if h["type"] == "AcknowledgementWithdrawn")
    assert withdrawal["who"]["actor_id"] == j.cast.responsible
    assert withdrawal["chain"].startswith("AcknowledgementWithdrawn #")
    assert "-> SessionHalted #" in withdrawal["chain"]
    (halt,) = [h for h in doc["halts"] if h["type"] == "SessionHalted"]
    assert halt["facts"]["session_id"] == j.sessions["meeting"]
    assert halt["facts"]["cause"] == "acknowledgement_withdrawn"
    # The harmed person's unsent letter did not depend on it and stays scheduled.
    sessions = doc["state"]["sessions"]["state"]["sessions"]
    assert sessions[j.sessions["unsent letter"]]["status"] == "scheduled"
    assert sessions[j.sessions["meeting"]]["status"] == "halted"
    await tampered_is_named(mend, admin_conn, j, "acknowledgement_withdrawn", "consent")


async def test_consent_lapsing_before_a_scheduled_session(mend, admin_conn):
    j = await consent_lapsed(mend.driver, expires_in=timedelta(seconds=6))
    doc = await audited(mend, j)
    lapse = next(h for h in doc["halts"] if h["type"] == "ConsentLapsed")
    assert lapse["kind"] == "lapse" and lapse["who"]["role"] == "system"  # nobody withdrew
    (halt,) = [h for h in doc["halts"] if h["type"] == "SessionHalted"]
    assert halt["cause"]["event_id"] == str(j.events["lapsed"])
    assert halt["facts"]["cause"] == "consent_lapsed"
    assert [c["type"] for c in halt["consequences"]] == ["AftercareOffered"]
    await tampered_is_named(mend, admin_conn, j, "lapsed", "consent")


async def test_a_withdrawal_and_the_halt_it_caused_offer_after_care_once(mend, admin_conn):
    """One cause, one offer: the withdrawal and the SessionHalted it caused reach after-care on
    two topics; once both are consumed there is one AftercareOffered, and the audit shows the
    whole chain (withdrawal -> halt, and the offer caused by one of them)."""
    j = await withdrawal_while_scheduled(mend.driver)
    withdrawal, halt = j.events["withdrawn"], j.events["halted:meeting"]
    schema = mend.schemas["aftercare"]

    async def both_consumed() -> bool:
        seen = await admin_conn.fetchval(
            f"SELECT count(DISTINCT event_id) FROM {schema}.inbox WHERE event_id = ANY($1)",
            [withdrawal, halt],
        )
        return seen == 2

    await wait_until(both_consumed, timeout=30)
    doc = await audited(mend, j)
    offers = [i for i in doc["timeline"] if i["type"] == "AftercareOffered"]
    assert len(offers) == 1, render_history(doc)
    assert offers[0]["caused_by"]["event_id"] in {str(withdrawal), str(halt)}
    assert item(doc, halt)["caused_by"]["event_id"] == str(withdrawal)
