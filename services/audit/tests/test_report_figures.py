"""The commissioners' report's figures equal a brute-force count over the events, cell by cell,
for random histories of many cases in two agencies (mend_audit.reports.figures). The brute
force is written apart from the fold: it scans the flat list of events per question, and works
out a case's stage at an event by looking back over that case's earlier events."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from mend_audit.reports.figures import fold
from mend_audit.reports.output import document, to_csv
from mend_audit.reports.suppression import HIDDEN
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.stages import STAGE_OF, STAGES

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FORMS = ("face_to_face", "letter", "story_telling")
CAUSES = ("participant_halt", "consent_withdrawn", "risk_flag")
LATER = [
    ("ConsentGiven", {}), ("ConsentWithdrawn", {}), ("RiskAssessmentStarted", {}),
    ("RiskAssessmentCompleted", {}), ("PreparationSessionHeld", {}), ("SessionScheduled", {}),
    ("SessionCompleted", {}), ("SessionHalted", {}), ("AgreementReached", {}),
    ("AftercareOffered", {}), ("AftercareAccepted", {}), ("AftercareDeclined", {}),
    ("CheckInCompleted", {}), ("CheckInMissed", {}), ("ReferralMade", {}),
    ("OutcomeMeasureRecorded", {}), ("CaseClosed", {}), ("AftercareClosed", {}),
    ("CommitmentRecorded", {}), ("CommitmentCompleted", {}), ("CommitmentNotCompleted", {}),
    ("InstrumentAnswered", {}),
]  # fmt: skip


def _event(n: int, case: str, kind: str, data: dict, at: datetime, agency: str, role: str):
    return RecordedEvent(
        global_position=n, stream_id=case, stream_version=n, event_id=uuid4(), event_type=kind,
        schema_version=1, data=data, recorded_at=at, case_id=case, service="sessions",
        raw_metadata={"actor_id": "prac-aaaa01", "role": role, "agency": agency,
                      "correlation_id": str(uuid4()), "causation_id": None,
                      "occurred_at": at.isoformat()},
    )  # fmt: skip


def history(seed: int, cases: int) -> list[RecordedEvent]:
    rng = random.Random(seed)
    events: list[RecordedEvent] = []
    clock = T0
    for i in range(cases):
        case, agency = f"case-{i:08x}", rng.choice(["agency-a", "agency-b"])
        steps: list[tuple[str, dict, str]] = []
        if rng.random() < 0.4:
            steps.append(("InvitationRecorded", {}, rng.choice(["practitioner", "coordinator"])))
        if not steps or rng.random() < 0.7:
            route = rng.choice(["self_referral", "agency_on_request"])
            steps.append(("CaseOpened", {"agency": agency, "route": route}, "harmed_person"))
        sessions: list[str] = []
        commitments: list[str] = []
        for _ in range(rng.randint(0, 12)):
            kind, _ = rng.choice(LATER)
            data: dict = {}
            if kind == "SessionScheduled":
                sessions.append(f"sess-{uuid4().hex[:8]}")
                data = {"session_id": sessions[-1], "form": rng.choice(FORMS)}
            elif kind == "SessionCompleted":
                data = {"session_id": rng.choice(sessions) if sessions else "sess-none0000"}
            elif kind == "SessionHalted":
                data = {"cause": rng.choice(CAUSES)}
            elif kind == "CaseClosed":
                data = {"reason": rng.choice(["harmed_person_ready", "too_risky"])}
            elif kind == "AftercareOffered":
                data = {"cause": rng.choice(["session_halted", "consent_withdrawn"])}
            elif kind == "CommitmentRecorded":
                commitments.append(str(uuid4()))
                data = {"commitment_id": commitments[-1]}
            elif kind in ("CommitmentCompleted", "CommitmentNotCompleted"):
                data = {"commitment_id": rng.choice(commitments) if commitments else "none"}
            elif kind == "ReferralMade":
                data = {"kind": rng.choice(["counselling", "advocacy"])}
            elif kind == "OutcomeMeasureRecorded":
                data = {"measure": "wellbeing", "point": rng.choice(["baseline", "m6"]),
                        "score": rng.randint(1, 10)}  # fmt: skip
            elif kind == "InstrumentAnswered":
                data = {"instrument": "reoffending-followup@1",
                        "point": rng.choice(["m6", "m12"]),
                        "answers": {"known_reoffence": rng.choice(["none_known", "sexual"]),
                                    "source": "police_record"}}  # fmt: skip
            steps.append((kind, data, "practitioner"))
        for kind, data, role in steps:
            clock += timedelta(hours=rng.randint(1, 200))
            events.append(_event(len(events) + 1, case, kind, data, clock, agency, role))
    rng.shuffle(events)  # cases interleave; the fold gets them in replay order
    return sorted(events, key=lambda e: e.recorded_at)


def stage_before(events: list[RecordedEvent], event: RecordedEvent) -> str:
    """Brute force: the furthest stage among the case's events before `event`."""
    earlier = [
        STAGES.index(STAGE_OF[e.event_type])
        for e in events
        if e.case_id == event.case_id and e.recorded_at < event.recorded_at
        and e.event_type in STAGE_OF
    ]  # fmt: skip
    return STAGES[max(earlier)] if earlier else "opening"


def brute(events: list[RecordedEvent], agency: str) -> dict[str, Counter]:
    def of(case):
        return [e for e in events if e.case_id == case]

    def owner(case):
        opened = [e for e in of(case) if e.event_type == "CaseOpened"]
        return opened[0].data["agency"] if opened else of(case)[0].metadata.agency

    cases = sorted({e.case_id for e in events if owner(e.case_id) == agency})
    mine = [e for e in events if e.case_id in cases]
    kinds = {c: {e.event_type for e in of(c)} for c in cases}
    out: dict[str, Counter] = {}
    out["cases_by_route"] = Counter(
        next((e.data["route"] for e in of(c) if e.event_type == "CaseOpened"), "not_opened")
        for c in cases
    )
    invited = [c for c in cases if "InvitationRecorded" in kinds[c]]
    out["invitations_by_source"] = Counter(
        next(str(e.metadata.role) for e in of(c) if e.event_type == "InvitationRecorded")
        for c in invited
    )
    out["invitations_taken_up"] = Counter(
        "opened" if "CaseOpened" in kinds[c] else "not_opened" for c in invited
    )
    out["cases_by_furthest_stage"] = Counter(
        STAGES[max(STAGES.index(STAGE_OF[k]) for k in kinds[c] if k in STAGE_OF)] for c in cases
    )
    out["withdrawals_by_stage"] = Counter(
        stage_before(events, e) for e in mine if e.event_type == "ConsentWithdrawn"
    )
    halts = [e for e in mine if e.event_type == "SessionHalted"]
    out["halts_by_stage"] = Counter(stage_before(events, e) for e in halts)
    out["halts_by_cause"] = Counter(e.data["cause"] for e in halts)
    out["sessions_scheduled_by_form"] = Counter(
        e.data["form"] for e in mine if e.event_type == "SessionScheduled"
    )
    forms = {e.data["session_id"]: e.data["form"] for e in mine
             if e.event_type == "SessionScheduled"}  # fmt: skip
    out["sessions_completed_by_form"] = Counter(
        forms[e.data["session_id"]] for e in mine
        if e.event_type == "SessionCompleted" and e.data["session_id"] in forms
    )  # fmt: skip
    answers = Counter()
    for c in cases:
        if "AftercareOffered" in kinds[c]:
            said = [e.event_type for e in of(c) if e.event_type in
                    ("AftercareAccepted", "AftercareDeclined")]  # fmt: skip
            answers[
                {"AftercareAccepted": "accepted", "AftercareDeclined": "declined"}.get(
                    said[-1] if said else "", "not_answered"
                )
            ] += 1
    out["aftercare_offers_answered"] = answers
    out["aftercare_offers_by_cause"] = Counter(
        e.data["cause"] for e in mine if e.event_type == "AftercareOffered"
    )
    outcome = {}
    for e in mine:  # in order: the last word on each recorded commitment
        cid = e.data.get("commitment_id")
        if e.event_type == "CommitmentRecorded":
            outcome.setdefault(cid, "open")
        elif e.event_type in ("CommitmentCompleted", "CommitmentNotCompleted") and cid in outcome:
            outcome[cid] = "completed" if e.event_type == "CommitmentCompleted" else "not_completed"
    out["commitments_by_outcome"] = Counter(outcome.values())
    closures = Counter()
    for c in cases:
        closed = [e.data["reason"] for e in of(c) if e.event_type == "CaseClosed"]
        if closed:
            closures[closed[-1]] += 1
        elif "AftercareClosed" in kinds[c]:
            closures["aftercare_closed"] += 1
    out["closures_by_reason"] = closures
    out["check_ins"] = Counter(
        {"CheckInCompleted": "completed", "CheckInMissed": "missed"}[e.event_type]
        for e in mine if e.event_type in ("CheckInCompleted", "CheckInMissed")
    )  # fmt: skip
    out["referrals_by_kind"] = Counter(e.data["kind"] for e in mine
                                       if e.event_type == "ReferralMade")  # fmt: skip
    out["instrument_choices"] = Counter(
        f"{e.data['instrument']}.{item} {e.data['point']}: {value}"
        for e in mine if e.event_type == "InstrumentAnswered"
        for item, value in e.data["answers"].items() if isinstance(value, str)
    )  # fmt: skip
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 40))
def test_every_cell_equals_a_brute_force_count(seed, cases):
    events = history(seed, cases)
    for agency in ("agency-a", "agency-b"):
        figures = fold(events, agency)
        expected = brute(events, agency)
        for table in figures.tables:
            got = {k: v for k, v in table.cells.items() if v}
            assert got == dict(+expected[table.name]), table.name


def test_the_published_report_hides_small_cells_and_names_no_case():
    events = history(7, 60)
    figures = fold(events, "agency-a")
    report = document(figures, as_of=T0 + timedelta(days=900), threshold=5)
    for table in report["tables"]:
        for value in [*table["cells"].values(), table["total"]]:
            assert value is HIDDEN or value == 0 or value >= 5, table["name"]
    text = to_csv(report) + repr(report)
    assert "case-" not in text and "prac-" not in text and "hp-" not in text
    assert "<5" in to_csv(report)
