"""Case histories replayed from four real stores: timeline, causation chain, state as of a
moment, determinism. Nothing runs but PostgreSQL: the services are "stopped" throughout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_audit.history import to_json
from mend_audit.reader import AuditReader
from mend_audit.replay import read_events
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import CaseClosed, CloseReason
from mend_events.errors import NotFound
from mend_testkit.written_cases import HP, PRAC, RP, risk_flag_journey, withdrawal_journey


@pytest.fixture
def reader(audit):
    return AuditReader(audit.pool, schemas=audit.schemas)


def by_type(doc, event_type):
    return [i for i in doc["timeline"] if i["type"] == event_type]


async def test_withdrawal_halts_the_meeting_and_triggers_aftercare(writer, reader):
    case = "case-wd000001"
    w = await withdrawal_journey(writer, case)
    doc = await reader.history(case)

    assert doc["events"] == 21 and doc["agency"] == "agency-a"
    seqs = {i["event_id"]: i["seq"] for i in doc["timeline"]}
    # One deterministic order: recorded_at, then service, then position.
    keys = [(i["recorded_at"], i["service"], i["global_position"]) for i in doc["timeline"]]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    assert doc["timeline"][0]["type"] == "CaseOpened"

    withdrawal = doc["timeline"][seqs[str(w["withdrawn"].event_id)] - 1]
    halt = doc["timeline"][seqs[str(w["halted"].event_id)] - 1]
    offer = doc["timeline"][seqs[str(w["offered:halt"].event_id)] - 1]
    assert withdrawal["who"] == {"actor_id": HP, "role": "harmed_person", "agency": "agency-a"}
    assert halt["who"]["role"] == "system" and halt["caused_by"]["seq"] == withdrawal["seq"]
    assert offer["caused_by"]["seq"] == halt["seq"]
    assert halt["seq"] in withdrawal["consequences"]
    assert halt["occurred_at"] and halt["recorded_at"] >= withdrawal["recorded_at"]

    # The chain reads withdrawal -> halt -> after-care, in the halts too.
    halts = {h["type"]: h for h in doc["halts"]}
    assert halts["SessionHalted"]["chain"] == (
        f"ConsentWithdrawn #{withdrawal['seq']} -> SessionHalted #{halt['seq']} -> "
        f"AftercareOffered #{offer['seq']}"
    )
    tree = halts["ConsentWithdrawn"]["consequences"]
    assert {c["type"] for c in tree} == {"SessionHalted", "AftercareOffered"}
    halted = next(c for c in tree if c["type"] == "SessionHalted")
    assert [c["type"] for c in halted["consequences"]] == ["AftercareOffered"]

    # The withdrawal's reason was sealed by the store; it appears nowhere.
    raw = to_json(doc)
    assert b"cannot face" not in raw and b"A256GCM" not in raw
    assert withdrawal["facts"]["reason"] == "[sealed]"

    # State after the withdrawal: the harmed person's consents ended, the meeting halted.
    state = doc["state"]
    assert {(g["participant_id"], g["scope"]) for g in state["consent"]["in_force"]} == {
        (RP, "take_part"),
        (RP, "contact:face_to_face"),
    }
    assert state["sessions"]["state"]["sessions"]["sess-0001"]["status"] == "halted"
    assert state["aftercare"]["state"]["status"] == "accepted"
    assert state["risk"]["governing_decision"]["decision"] == "proceed"
    assert state["unreadable"] == []


async def test_as_of_a_moment_and_unchanged_by_later_appends(writer, reader):
    case = "case-asof0001"
    w = await withdrawal_journey(writer, case)
    before = w["scheduled"].recorded_at  # the meeting is scheduled, nothing withdrawn yet
    view = await reader.history(case, before)
    assert view["timeline"][-1]["type"] == "SessionScheduled"
    assert not view["halts"]
    state = view["state"]
    assert {(g["participant_id"], g["scope"]) for g in state["consent"]["in_force"]} == {
        (HP, "take_part"),
        (HP, "contact:face_to_face"),
        (RP, "take_part"),
        (RP, "contact:face_to_face"),
    }
    assert state["sessions"]["state"]["sessions"]["sess-0001"]["status"] == "scheduled"
    assert state["aftercare"]["state"]["status"] == "not_offered"

    # Later events (of this case and another) change nothing about that moment.
    pinned = to_json(view)
    await risk_flag_journey(writer, "case-asof0002")
    await writer.record(
        "sessions",
        case,
        CaseClosed(reason=CloseReason.HARMED_PERSON_READY),
        PRAC,
        Role.PRACTITIONER,
    )
    assert to_json(await reader.history(case, before)) == pinned
    # A moment before anything was recorded: an empty history, not an error.
    empty = await reader.history(case, w["opened"].recorded_at - timedelta(seconds=1))
    assert empty["timeline"] == [] and empty["state"]["consent"]["in_force"] == []
    assert empty["state"]["sessions"]["state"]["status"] == "new"


async def test_rebuilding_twice_gives_identical_bytes(writer, reader):
    case = "case-det00001"
    await withdrawal_journey(writer, case)
    one = to_json(await reader.history(case))
    two = to_json(await reader.history(case))
    assert one == two
    assert await reader.export(case, "json") == await reader.export(case, "json")


async def test_severe_flag_halts_a_running_meeting(writer, reader):
    case = "case-flag0001"
    r = await risk_flag_journey(writer, case)
    doc = await reader.history(case)
    (halt,) = doc["halts"]
    assert halt["kind"] == "halt" and halt["cause"]["type"] == "RiskFlagRaised"
    assert halt["cause"]["who"] == {"actor_id": PRAC, "role": "practitioner"}
    assert {c["type"] for c in halt["consequences"]} == {"AftercareOffered", "RiskReassessmentDue"}
    assert halt["facts"]["cause_event_id"] == str(r["flag"].event_id)
    state = doc["state"]
    assert [f["raised"]["severity"] for f in state["risk"]["unresolved_flags"]] == ["severe"]
    assert state["risk"]["reassessment_due"] is True


async def test_halts_across_cases_since_and_by_case(writer, reader):
    w = await withdrawal_journey(writer, "case-all00001")
    await risk_flag_journey(writer, "case-all00002")
    everything = await reader.halts()
    assert [(h["case_id"], h["type"]) for h in everything] == [
        ("case-all00001", "ConsentWithdrawn"),
        ("case-all00001", "SessionHalted"),
        ("case-all00002", "SessionHalted"),
    ]
    since = await reader.halts(since=w["halted"].recorded_at + timedelta(microseconds=1))
    assert [h["case_id"] for h in since] == ["case-all00002"]
    one = await reader.halts(case="case-all00001")
    assert [h["type"] for h in one] == ["ConsentWithdrawn", "SessionHalted"]
    assert await reader.halts(agencies=["agency-b"]) == []


async def test_unknown_case_and_the_merge_order(audit, writer, reader):
    with pytest.raises(NotFound):
        await reader.history("case-nothing1")
    await withdrawal_journey(writer, "case-ord00001")
    events = await read_events(audit.pool, schemas=audit.schemas)
    keys = [(e.recorded_at, e.service, e.global_position) for e in events]
    ranks = {"consent": 0, "risk": 1, "sessions": 2, "aftercare": 3}
    assert keys == sorted(keys, key=lambda k: (k[0], ranks[k[1]], k[2]))
    only = await read_events(audit.pool, schemas=audit.schemas, services=["risk"])
    assert {e.service for e in only} == {"risk"}
