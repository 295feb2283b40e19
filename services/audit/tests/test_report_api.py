"""The commissioners' report through the audit API, over stores written by real journeys:
the agency's auditor and coordinator read it, as JSON or CSV, as of any moment; nobody else
does, and another agency's coordinator gets only their own agency's figures. Small cells are
hidden, with the cell that would give them away by difference."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest
from mend_audit.api import build
from mend_testkit.written_cases import risk_flag_journey, withdrawal_journey

PATH = "/audit/reports/commissioner"


@pytest.fixture
async def client(platform, audit, topic_prefix):
    app = build(platform, schemas=audit.schemas, topic_prefix=topic_prefix)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def _table(report: dict, name: str) -> dict:
    return next(t for t in report["tables"] if t["name"] == name)


async def test_the_report_as_of_now_and_before(client, writer, token):
    before = datetime.now(UTC).isoformat()
    for n in range(6):
        await withdrawal_journey(writer, f"case-rep0000{n}")
    await risk_flag_journey(writer, "case-rep00009")

    coordinator = token("coordinator", "coord-aaaa01")
    r = await client.get(PATH, headers=coordinator)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["agency"] == "agency-a" and report["threshold"] == 5
    assert _table(report, "cases_by_route")["total"] == 7
    assert _table(report, "withdrawals_by_stage")["cells"]["contact"] == 6
    # Six halts for the withdrawals and one for the risk flag: the one is hidden, and so is
    # the six, or the total (7) would give the one away.
    halts = _table(report, "halts_by_cause")
    assert halts["total"] == 7
    assert halts["cells"] == {"consent_withdrawn": None, "risk_flag": None}
    for table in report["tables"]:
        for value in [*table["cells"].values(), table["total"]]:
            assert value is None or value == 0 or value >= 5, table["name"]
    assert "case-rep" not in r.text and "hp-" not in r.text and "prac-" not in r.text

    # As recorded before the journeys: nothing yet (the same figures a replay gives then).
    r = await client.get(PATH, params={"as_of": before}, headers=coordinator)
    assert _table(r.json(), "cases_by_route")["total"] == 0

    # The auditor reads the same figures; CSV with hidden cells as "<5".
    r = await client.get(PATH, params={"format": "csv"}, headers=token("auditor", "aud-0001a"))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert ["table", "halts_by_cause", "risk_flag", "<5"] in rows
    assert ["table", "cases_by_route", "total", "7"] in rows


async def test_who_may_read_the_report(client, writer, token):
    await withdrawal_journey(writer, "case-rep00010")
    refused = [
        token(role, person)
        for role, person in (
            ("practitioner", "prac-aaaa01"),
            ("operator", "ops-0001aa"),
            ("harmed_person", "hp-aaaa0001"),
            ("responsible_person", "rp-aaaa0001"),
            ("supporter", "sup-aaaa0001"),
        )
    ]
    for headers in refused:
        assert (await client.get(PATH, headers=headers)).status_code == 403
    assert (await client.get(PATH)).status_code == 401
    # Another agency's coordinator: their own agency's figures, none of agency-a's.
    r = await client.get(PATH, headers=token("coordinator", "coord-bbbb01", "agency-b"))
    assert r.status_code == 200
    assert r.json()["agency"] == "agency-b"
    assert _table(r.json(), "cases_by_route")["total"] == 0
    # A moment that is no moment is named, never echoed.
    r = await client.get(PATH, params={"as_of": "yesterday"}, headers=token("auditor", "aud-0001a"))
    assert r.status_code == 422 and r.json()["field"] == "as_of" and "yesterday" not in r.text


async def test_the_threshold_is_the_rule_pack_s_in_force_at_the_reporting_date(
    client, writer, token
):
    from mend_events.contracts.actors import Role
    from mend_events.contracts.catalog.hub import RulePackAdopted, agency_stream

    for n in range(6):
        await withdrawal_journey(writer, f"case-pack0000{n}")
    before = datetime.now(UTC).isoformat()
    adopted = RulePackAdopted(agency_id="agency-a", pack_id="scotland", version=1)
    await writer.record("hub", agency_stream("agency-a"), adopted, "coord-aaaa01", Role.COORDINATOR)
    auditor = token("auditor", "aud-0001a")

    now = (await client.get(PATH, headers=auditor)).json()
    assert (now["rule_pack"], now["threshold"]) == ("scotland@1", 10)
    assert _table(now, "withdrawals_by_stage")["cells"]["contact"] is None  # 6 < 10
    then = (await client.get(PATH, params={"as_of": before}, headers=auditor)).json()
    assert (then["rule_pack"], then["threshold"]) == ("england-wales@1", 5)
    assert _table(then, "withdrawals_by_stage")["cells"]["contact"] == 6
