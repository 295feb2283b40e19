"""Two partner agencies with different grants: each share topic holds exactly what its grants
allow, field by field against the allowlist; the ledger records each disclosure and its chain
holds; tampering with a row is found."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from mend_disclosure.domain import Allowlist
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import risk as rev
from mend_events.contracts.catalog import sessions as sev
from mend_events.contracts.catalog.consent import DataCategory
from mend_events.store.disclosure_ledger import Ledger
from mend_testkit.forgery import as_superuser

from .disclosure_support import CARE, POLICE, PROBATION, now, read_share_topic, terms

HP, CASE = "hp-aaaa0001", "case-0001aa"
ALLOW = Allowlist.load()


async def ledger_rows(runtime, kind: str | None = None) -> list:
    async with runtime.pool.acquire() as conn:
        return await conn.fetch(
            f"SELECT * FROM {runtime.schema}.disclosure_ledger "
            f"WHERE $1::text IS NULL OR kind = $1 ORDER BY position",
            kind,
        )


async def test_two_partners_receive_exactly_what_their_grants_allow(gateway, feed, platform,
                                                                    topic_prefix):  # fmt: skip
    _, _, runtime = gateway
    t0 = now() - timedelta(minutes=5)
    for agency in (POLICE, CARE, PROBATION):
        await feed.sharing_key(agency, t0)
    police = terms(["safety_concerns"], ["RiskFlagRaised", "SessionHalted"], t0)
    care = terms(["case_progress", "session_outcomes"], ["CaseOpened", "SessionHalted"], t0)
    await feed.grant(CASE, HP, POLICE, police, t0 + timedelta(seconds=1))
    await feed.grant(CASE, HP, CARE, care, t0 + timedelta(seconds=1))
    await feed.open_case(CASE, HP, t0 + timedelta(seconds=2))
    flag = rev.RiskFlagRaised(flag_id=uuid4(), severity="high", affects=None,
                              category="coercive_control")  # fmt: skip
    await feed.send("risk", CASE, flag, at=t0 + timedelta(seconds=3), actor="prac-aaaa01",
                    role=Role.PRACTITIONER)  # fmt: skip
    halted = sev.SessionHalted(
        session_id="sess-0001aa",
        halted_by_id="prac-aaaa01",
        halted_by_role="practitioner",
        cause="practitioner_halt",
    )
    await feed.send("sessions", CASE, halted, at=t0 + timedelta(seconds=4), actor="prac-aaaa01",
                    role=Role.PRACTITIONER)  # fmt: skip
    closed = sev.CaseClosed(reason="harmed_person_ready")  # no grant names CaseClosed
    await feed.send("sessions", CASE, closed, at=t0 + timedelta(seconds=5), actor="prac-aaaa01",
                    role=Role.PRACTITIONER)  # fmt: skip

    got_police = await read_share_topic(platform.kafka_bootstrap, POLICE, topic_prefix, 2)
    got_care = await read_share_topic(platform.kafka_bootstrap, CARE, topic_prefix, 2)
    assert sorted(e["type"] for e in got_police) == [
        "org.mend.share.v1.RiskFlagRaised", "org.mend.share.v1.SessionHalted"]  # fmt: skip
    assert sorted(e["type"] for e in got_care) == [
        "org.mend.share.v1.CaseOpened", "org.mend.share.v1.SessionHalted"]  # fmt: skip
    granted = {POLICE: police, CARE: care}
    for agency, events in ((POLICE, got_police), (CARE, got_care)):
        for e in events:
            assert e["dataclassification"] == "restricted" and e["subject"] == CASE
            event_type = e["type"].removeprefix("org.mend.share.v1.")
            rule = ALLOW.rule(event_type)
            cats = set(map(DataCategory, granted[agency].categories)) & rule.categories
            # Field by field: exactly the allowlisted paths of the granted categories.
            assert set(e["data"]["event"]) == set(rule.paths_for(cats)), (agency, event_type)
            assert e["data"]["subject_id"] == HP and e["data"]["purpose"] == "safeguarding"
    by_type = {e["type"]: e["data"]["event"] for e in got_police}
    assert by_type["org.mend.share.v1.SessionHalted"] == {"cause": "practitioner_halt"}
    care_halt = next(e for e in got_care if e["type"].endswith("SessionHalted"))["data"]["event"]
    assert care_halt == {"session_id": "sess-0001aa", "halted_by_role": "practitioner"}
    assert await read_share_topic(platform.kafka_bootstrap, PROBATION, topic_prefix, 0,
                                  within=1.5) == []  # fmt: skip

    rows = await ledger_rows(runtime, "disclosure")
    assert len(rows) == 4
    assert {(r["recipient_agency"], tuple(r["field_paths"])) for r in rows} >= {
        (POLICE, ("cause",)), (CARE, ("session_id", "halted_by_role"))}  # fmt: skip
    assert all(r["subjects"] == [HP] and r["digest"] for r in rows)
    ledger = Ledger(runtime.schema)
    assert await ledger.verify(runtime.pool) == []

    # A changed row, even by someone who can get past the append-only trigger, is found.
    await as_superuser(
        platform,
        f"UPDATE {runtime.schema}.disclosure_ledger SET recipient_agency = 'someone-else' "
        f"WHERE position = 2",
    )
    breaks = await ledger.verify(runtime.pool)
    assert breaks and "position 2" in breaks[0]


async def test_mend_audit_verify_checks_the_ledger_and_disclosures_answers(gateway, feed,
                                                                           platform):  # fmt: skip
    from mend_audit.reader import AuditReader

    _, _, runtime = gateway
    t0 = now() - timedelta(minutes=5)
    await feed.sharing_key(POLICE, t0)
    await feed.grant(CASE, HP, POLICE, terms(["case_progress"], ["CaseOpened"], t0), t0)
    await feed.open_case(CASE, HP, t0 + timedelta(seconds=1))

    async def recorded() -> bool:
        return len(await ledger_rows(runtime)) == 1

    from mend_testkit.waiting import wait_until

    await wait_until(recorded)
    reader = AuditReader(runtime.pool, ledger_schema=runtime.schema)
    report = await reader.verify(services=["disclosure"], kafka=False)
    assert report.ok and report.services[0].events == 1
    [entry] = await reader.disclosures(HP)
    assert entry["kind"] == "disclosure" and entry["recipient_agency"] == POLICE
    assert entry["field_paths"] == ["harm_category", "justice_stage", "route"]
    assert await reader.disclosures("hp-nobody01") == []
    await as_superuser(platform, f"UPDATE {runtime.schema}.disclosure_ledger SET "
                                 f"field_paths = ARRAY['route']")  # fmt: skip
    report = await reader.verify(services=["disclosure"], kafka=False)
    assert not report.ok and report.problems[0].kind == "chain"
