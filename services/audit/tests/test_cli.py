"""`mend audit ...` end to end: readable output, JSON, exit codes, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

from mend_events.app.settings import SERVICES
from mend_events.messaging.topics import ensure_topics
from mend_testkit.forgery import as_superuser, claim_published
from mend_testkit.written_cases import risk_flag_journey, withdrawal_journey


async def test_history_text_and_json(writer, mend):
    w = await withdrawal_journey(writer, "case-cli00001")
    code, out, err = await mend("history", "case-cli00001")
    assert code == 0 and not err
    assert out.startswith("Case case-cli00001 (agency agency-a): 21 event(s)")
    assert "ConsentWithdrawn" in out and "<- caused by #16 ConsentWithdrawn (hp-alice01, " in out
    assert "Halts and withdrawals (2):" in out
    assert "State as of" in out and "sess-0001 face_to_face halted" in out
    assert "cannot face" not in out

    code, as_json, _ = await mend("history", "case-cli00001", "--json")
    doc = json.loads(as_json)
    assert code == 0 and doc["events"] == 21 and len(doc["halts"]) == 2
    # The same bytes every time.
    assert (await mend("history", "case-cli00001", "--json"))[1] == as_json

    moment = w["scheduled"].recorded_at.isoformat()
    code, out, _ = await mend("history", "case-cli00001", "--as-of", moment)
    assert code == 0 and "15 event(s) recorded as of" in out
    assert "Halts and withdrawals: none" in out


async def test_halts_export_and_rebuild(writer, mend, tmp_path):
    await withdrawal_journey(writer, "case-cli00002")
    await risk_flag_journey(writer, "case-cli00003")
    code, out, _ = await mend("halts")
    assert code == 0 and out.startswith("Halts and withdrawals (3):")
    assert "case-cli00003 #18 halt: SessionHalted" in out
    assert "cause: #17 RiskFlagRaised by prac-carol1 (practitioner)" in out
    code, out, _ = await mend("halts", "--case", "case-cli00003", "--json")
    assert [h["type"] for h in json.loads(out)] == ["SessionHalted"]

    code, out, _ = await mend("export", "case-cli00002", "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("seq,recorded_at,occurred_at,service")
    assert len(lines) == 22
    target = tmp_path / "case.json"
    code, out, _ = await mend(
        "export", "case-cli00002", "--format", "json", "--output", str(target)
    )
    assert code == 0 and json.loads(target.read_bytes())["format"] == "mend-case-file/1"

    code, out, _ = await mend("rebuild")
    assert code == 0 and "case_history rebuilt from 41 event(s)" in out


async def test_verify_exit_codes(platform, audit, writer, mend, topic_prefix):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    w = await withdrawal_journey(writer, "case-cli00004")
    code, out, _ = await mend("verify", "--no-kafka")
    assert code == 0 and out.splitlines()[-1].startswith("OK")
    # Nothing was published to this test's topics yet (no relay ran): counted, no failure.
    code, out, _ = await mend("verify", "--service", "sessions")
    assert code == 0 and out.splitlines()[-1].startswith("OK")
    assert "7 not yet published" in out
    # Once the relay's checkpoint claims them published, every one is named as missing.
    schema = audit.schemas["sessions"]
    await claim_published(audit.pool, schema, f"{topic_prefix}sessions.events.v1")
    code, out, _ = await mend("verify", "--service", "sessions")
    assert code == 1 and "FAILED: 7 problem(s)" in out
    assert "sessions stream case-cli00004 version 1" in out

    await as_superuser(
        platform,
        f"UPDATE {audit.schemas['risk']}.events SET metadata = jsonb_set(metadata, "
        f"'{{actor_id}}', '\"prac-other1\"') WHERE event_id = $1",
        w["decision"].event_id,
    )
    code, out, _ = await mend("verify", "--no-kafka", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    (risk,) = [s for s in report["services"] if s["service"] == "risk"]
    assert [(p["kind"], p["stream_id"], p["stream_version"]) for p in risk["problems"]] == [
        ("chain", "case-cli00004", w["decision"].version)
    ]


async def test_user_mistakes_are_one_line_errors(writer, mend):
    await withdrawal_journey(writer, "case-cli00005")
    for args, message in [
        (("history", "case-nosuch01"), "no events of case case-nosuch01 in any store"),
        (("history", "case-cli00005", "--as-of", "yesterday"), "'yesterday' is not a moment"),
        (("halts", "--since", "soon"), "'soon' is not a moment"),
        (("verify", "--service", "billing"), "unknown service billing"),
    ]:
        code, _, err = await mend(*args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
        assert err.startswith("mend audit: error: ")


def test_the_console_script_without_a_database():
    """The `mend` entry point itself: an unreachable database is one line and exit code 2."""
    env = {"MEND_DATABASE_URL": "postgresql://mend_app:mend_app@127.0.0.1:9/mend", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "mend_audit", "audit", "history", "case-x0001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("mend audit: error: cannot reach PostgreSQL at 127.0.0.1:9/mend")
    assert "Traceback" not in done.stderr and "mend_app:mend_app" not in done.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "mend_audit", "audit", "export", "case-x1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2 and "--format" in usage.stderr


async def test_the_commissioners_report_as_json_and_csv(writer, mend):
    for n in range(5):
        await withdrawal_journey(writer, f"case-clirep0{n}")
    code, out, err = await mend("report", "--agency", "agency-a")
    assert code == 0 and not err
    report = json.loads(out)
    tables = {t["name"]: t for t in report["tables"]}
    assert tables["withdrawals_by_stage"]["cells"]["contact"] == 5
    assert tables["cases_by_route"]["total"] == 5
    code, out, _ = await mend("report", "--agency", "agency-a", "--format", "csv")
    assert code == 0 and out.startswith("section,name,key,value\n")
    assert "table,withdrawals_by_stage,contact,5" in out and "case-clirep" not in out
    code, _, err = await mend("report", "--agency", "agency-a", "--as-of", "soon")
    assert code == 2 and "is not a moment" in err
