"""The auditor's HTTP API: auditors of the case's agency only, read-only, same answers as the
command line. And the access policy as a matrix."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from mend_audit import access
from mend_audit.api import OTHER_AGENCY, build
from mend_events.app.settings import SERVICES
from mend_events.contracts.actors import Role
from mend_events.errors import Forbidden
from mend_events.messaging.topics import ensure_topics
from mend_events.security.identity import Identity
from mend_testkit.forgery import claim_published
from mend_testkit.written_cases import risk_flag_journey, withdrawal_journey


@pytest.fixture
async def client(platform, audit, topic_prefix):
    app = build(platform, schemas=audit.schemas, topic_prefix=topic_prefix)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.mark.parametrize(
    ("role", "agency", "action", "allowed"),
    [
        (Role.AUDITOR, "agency-a", access.HISTORY, True),
        (Role.AUDITOR, "agency-a", access.HALTS, True),
        (Role.AUDITOR, "agency-a", access.VERIFY, True),
        (Role.AUDITOR, "agency-b", access.HISTORY, False),
        (Role.AUDITOR, "agency-a", "audit.write", False),
        *[
            (role, "agency-a", action, False)
            for role in Role
            if role is not Role.AUDITOR
            for action in (access.HISTORY, access.HALTS, access.VERIFY)
        ],
    ],
)
def test_policy_matrix(role, agency, action, allowed):
    identity = Identity(agency=agency, role=role, person_id="aud-0001x")
    if allowed:
        access.authorize(identity, action, agency="agency-a", case_id="case-0001")
    else:
        with pytest.raises(Forbidden):
            access.authorize(identity, action, agency="agency-a", case_id="case-0001")


async def test_auditor_reads_history_halts_export(client, writer, token):
    await withdrawal_journey(writer, "case-api00001")
    auditor = token("auditor", "aud-0001a")
    r = await client.get("/audit/cases/case-api00001/history", headers=auditor)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["events"] == 21 and [h["type"] for h in doc["halts"]] == [
        "ConsentWithdrawn",
        "SessionHalted",
    ]
    assert b"cannot face" not in r.content
    # Byte-identical on a second read; and as of a moment.
    assert (await client.get("/audit/cases/case-api00001/history", headers=auditor)).content == (
        r.content
    )
    moment = doc["timeline"][14]["recorded_at"]
    r = await client.get(
        "/audit/cases/case-api00001/history", params={"as_of": moment}, headers=auditor
    )
    assert r.status_code == 200 and r.json()["events"] == 15

    r = await client.get("/audit/halts", params={"case": "case-api00001"}, headers=auditor)
    assert [h["kind"] for h in r.json()["halts"]] == ["withdrawal", "halt"]

    r = await client.get(
        "/audit/cases/case-api00001/export", params={"format": "csv"}, headers=auditor
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 21 and rows[16]["caused_by_type"] == "ConsentWithdrawn"
    r = await client.get("/audit/cases/case-api00001/export", headers=auditor)
    assert json.loads(r.content)["format"] == "mend-case-file/1"


async def one_case_each(audit, writer, case_a: str, case_b: str) -> None:
    """A withdrawal case of agency-a (the writer's) and a risk-flag case of agency-b."""
    await withdrawal_journey(writer, case_a)
    other = audit.writer(agency="agency-b")
    try:
        await risk_flag_journey(other, case_b)
    finally:
        await other.close()


async def test_only_auditors_of_the_cases_agency(client, audit, writer, token):
    await one_case_each(audit, writer, "case-api00002", "case-api00003")
    url = "/audit/cases/case-api00002/history"
    for headers in (
        token("auditor", "aud-0002b", agency="agency-b"),
        token("practitioner", "prac-carol1"),
        token("coordinator", "coord-0001"),
        token("operator", "ops-00001"),
        token("harmed_person", "hp-alice01"),
    ):
        r = await client.get(url, headers=headers)
        assert r.status_code == 403, r.text
        r = await client.get("/audit/cases/case-api00002/export", headers=headers)
        assert r.status_code == 403
    assert (await client.get(url)).status_code == 401

    auditor_a = token("auditor", "aud-0001a")
    auditor_b = token("auditor", "aud-0002b", agency="agency-b")
    assert (
        await client.get("/audit/cases/case-none0001/history", headers=auditor_a)
    ).status_code == 404
    # Halts: each auditor sees their own agency's cases only.
    a = (await client.get("/audit/halts", headers=auditor_a)).json()["halts"]
    b = (await client.get("/audit/halts", headers=auditor_b)).json()["halts"]
    assert {h["case_id"] for h in a} == {"case-api00002"}
    assert {h["case_id"] for h in b} == {"case-api00003"}
    r = await client.get("/audit/halts", params={"case": "case-api00003"}, headers=auditor_a)
    assert r.status_code == 403
    r = await client.get("/audit/halts", headers=token("practitioner", "prac-carol1"))
    assert r.status_code == 403


async def test_verify_names_only_the_agencys_own_cases(
    client, platform, audit, writer, token, topic_prefix
):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await one_case_each(audit, writer, "case-api00004", "case-api00005")
    r = await client.get(
        "/audit/verify", params={"kafka": "false"}, headers=token("auditor", "aud-0001a")
    )
    assert r.status_code == 200 and r.json()["ok"] is True
    # Nothing is on this test's topics, and no relay ran: not yet published, no failure.
    r = await client.get(
        "/audit/verify", params={"service": "risk"}, headers=token("auditor", "aud-0001a")
    )
    report = r.json()
    assert report["ok"] is True
    (risk,) = report["services"]
    assert risk["unpublished"] == risk["events"] > 0 and risk["problems"] == []
    # A checkpoint claiming them published: every event is a problem, named only for agency-a.
    schema = audit.schemas["risk"]
    await claim_published(audit.pool, schema, f"{topic_prefix}risk.events.v1")
    r = await client.get(
        "/audit/verify", params={"service": "risk"}, headers=token("auditor", "aud-0001a")
    )
    report = r.json()
    assert report["ok"] is False
    problems = report["services"][0]["problems"]
    assert {p["kind"] for p in problems} == {"kafka_missing"}
    assert {p["stream_id"] for p in problems} == {"case-api00004", OTHER_AGENCY}
    assert all(p["event_id"] is None for p in problems if p["stream_id"] == OTHER_AGENCY)
    r = await client.get(
        "/audit/verify", params={"service": "billing"}, headers=token("auditor", "aud-0001a")
    )
    assert r.status_code == 422
    r = await client.get("/audit/verify", headers=token("operator", "ops-00001"))
    assert r.status_code == 403


async def test_malformed_case_ids_and_numeric_moments_are_a_clear_422(client, token):
    """Issue 14 #9, #10: the auditors' API takes case ids and moments by the shared types."""
    auditor = token("auditor", "aud-0001a")
    for path, params, field in (
        ("/audit/cases/C/history", {}, "case_id"),
        ("/audit/cases/None/export", {"format": "json"}, "case_id"),
        ("/audit/halts", {"case": "x"}, "case"),
        ("/audit/halts", {"since": "0.5"}, "since"),
        ("/audit/cases/case-api00001/history", {"as_of": "1700000000"}, "as_of"),
    ):
        r = await client.get(path, params=params, headers=auditor)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["field"] == field and r.json()["reason"], r.text
