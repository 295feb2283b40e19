"""The pure parts: summaries, facts without personal content, cause links, halts, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from mend_audit.entries import entry_of
from mend_audit.history import CaseHistory, histories, to_json
from mend_audit.history import halts as all_halts
from mend_audit.summaries import SEALED, facts, summarise
from mend_events.contracts.envelope import RecordedEvent

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CASE = "case-unit0001"


def recorded(
    service: str,
    position: int,
    version: int,
    event_type: str,
    data: dict,
    *,
    at: int,
    actor: tuple[str, str] = ("hp-alice01", "harmed_person"),
    cause: UUID | None = None,
    event_id: UUID | None = None,
) -> RecordedEvent:
    return RecordedEvent(
        global_position=position,
        stream_id=CASE,
        stream_version=version,
        event_id=event_id or uuid4(),
        event_type=event_type,
        schema_version=1,
        data=data,
        raw_metadata={
            "actor_id": actor[0],
            "role": actor[1],
            "agency": "agency-a",
            "correlation_id": str(uuid4()),
            "causation_id": str(cause) if cause else None,
            "occurred_at": (T0 + timedelta(seconds=at) - timedelta(milliseconds=5)).isoformat(),
        },
        recorded_at=T0 + timedelta(seconds=at),
        case_id=CASE,
        service=service,
    )


SEALED_REASON = {"alg": "A256GCM", "kid": "k-1", "iv": "aXY=", "ct": "Y3Q="}


def journey() -> list[RecordedEvent]:
    w, h = uuid4(), uuid4()
    grants = [{"grant_id": str(uuid4()), "scope": "take_part"}]
    sys_sessions, sys_aftercare = ("svc-sessions", "system"), ("svc-aftercare", "system")
    return [
        recorded(
            "sessions",
            1,
            1,
            "CaseOpened",
            {
                "harm_category": "sexual_assault",
                "justice_stage": "none",
                "agency": "agency-a",
                "harmed_person_id": "hp-alice01",
                "route": "self_referral",
            },
            at=1,
        ),
        recorded(
            "sessions",
            2,
            2,
            "SessionScheduled",
            {
                "session_id": "sess-1",
                "form": "face_to_face",
                "participants": [],
                "facilitator_id": "prac-carol1",
                "team": [],
                "scheduled_for": "2025-04-01T10:00:00Z",
                "speaks_first": "hp-alice01",
            },
            at=2,
            actor=("prac-carol1", "practitioner"),
        ),
        recorded(
            "consent",
            1,
            1,
            "ConsentWithdrawn",
            {
                "participant_id": "hp-alice01",
                "target": "everything",
                "scope": None,
                "grants": grants,
                "reason": SEALED_REASON,
            },
            at=3,
            event_id=w,
        ),
        # Recorded at the same moment as the withdrawal: the service order decides.
        recorded(
            "aftercare",
            1,
            1,
            "AftercareOffered",
            {
                "harmed_person_id": "hp-alice01",
                "cause": "consent_withdrawn",
                "cause_event_id": str(w),
                "reopens_closure": None,
            },
            at=3,
            actor=sys_aftercare,
            cause=w,
        ),
        recorded(
            "sessions",
            3,
            3,
            "SessionHalted",
            {
                "session_id": "sess-1",
                "halted_by_id": None,
                "halted_by_role": "system",
                "cause": "consent_withdrawn",
                "cause_event_id": str(w),
            },
            at=4,
            actor=sys_sessions,
            cause=w,
            event_id=h,
        ),
        recorded(
            "aftercare",
            2,
            2,
            "AftercareOffered",
            {
                "harmed_person_id": "hp-alice01",
                "cause": "session_halted",
                "cause_event_id": str(h),
                "reopens_closure": None,
            },
            at=5,
            actor=sys_aftercare,
            cause=h,
        ),
    ]


def test_personal_fields_never_reach_summaries_or_facts():
    data = {
        "participant_id": "hp-alice01",
        "target": "everything",
        "scope": None,
        "grants": [{"grant_id": str(uuid4()), "scope": "take_part"}],
        "reason": "I cannot face him",
    }  # even if it were (wrongly) stored in clear
    assert facts("ConsentWithdrawn", data)["reason"] == SEALED
    assert "face him" not in summarise("ConsentWithdrawn", data)
    assert facts("ConsentWithdrawn", {**data, "reason": None})["reason"] is None
    # A sealed-looking value in an unknown event type is withheld too.
    assert facts("SomethingNew", {"x": SEALED_REASON, "code": "a"}) == {"x": SEALED, "code": "a"}
    assert summarise("SomethingNew", {"x": SEALED_REASON, "code": "a"}) == "SomethingNew: code=a"


def test_summaries_use_codes_and_ids():
    assert (
        summarise(
            "SessionHalted",
            {
                "session_id": "sess-1",
                "halted_by_id": "hp-alice01",
                "halted_by_role": "harmed_person",
                "cause": "participant_halt",
                "cause_event_id": None,
            },
        )
        == "session sess-1 halted by hp-alice01 (harmed_person): participant_halt"
    )
    assert summarise(
        "OutcomeMeasureRecorded", {"measure": "wellbeing", "point": "m1", "score": 3}
    ) == (
        "outcome measure wellbeing recorded at m1"  # the answer itself stays out
    )
    # An unexpected shape falls back to generic words instead of failing the replay.
    odd = summarise("AgreementReached", {"session_id": "sess-1", "items": [1]})
    assert odd == "AgreementReached: session_id=sess-1"


def test_timeline_order_and_cause_links():
    events = journey()
    history = CaseHistory(CASE, [entry_of(e) for e in reversed(events)])
    types = [(i.entry.service, i.entry.event_type) for i in history.items]
    assert types == [
        ("sessions", "CaseOpened"),
        ("sessions", "SessionScheduled"),
        ("consent", "ConsentWithdrawn"),
        ("aftercare", "AftercareOffered"),
        ("sessions", "SessionHalted"),
        ("aftercare", "AftercareOffered"),
    ]
    withdrawal, offer1, halt, offer2 = (history.item(n) for n in (3, 4, 5, 6))
    assert withdrawal.consequences == (4, 5)
    assert (offer1.caused_by, halt.caused_by, offer2.caused_by) == (3, 3, 5)
    assert [i.seq for i in history.causes_of(6)] == [3, 5]
    assert history.chain_text(3) == "ConsentWithdrawn #3 -> AftercareOffered #4"
    assert history.chain_text(5) == "ConsentWithdrawn #3 -> SessionHalted #5 -> AftercareOffered #6"
    assert history.agency == "agency-a"


def test_halts_list_cause_and_everything_downstream():
    events = journey()
    found = CaseHistory(CASE, [entry_of(e) for e in events]).halts()
    assert [(h["kind"], h["type"]) for h in found] == [
        ("withdrawal", "ConsentWithdrawn"),
        ("halt", "SessionHalted"),
    ]
    withdrawal, halt = found
    assert withdrawal["cause"] is None and withdrawal["who"]["role"] == "harmed_person"
    tree = withdrawal["consequences"]
    assert [(c["seq"], c["type"]) for c in tree] == [(4, "AftercareOffered"), (5, "SessionHalted")]
    assert [(c["seq"], c["type"]) for c in tree[1]["consequences"]] == [(6, "AftercareOffered")]
    assert halt["cause"]["type"] == "ConsentWithdrawn" and halt["cause"]["seq"] == 3
    assert withdrawal["facts"]["reason"] == SEALED
    cases = histories(entry_of(e) for e in events).values()
    assert all_halts(cases, since=halt["recorded_at"]) == [halt]


def test_building_twice_gives_identical_bytes():
    events = journey()
    one = to_json(CaseHistory(CASE, [entry_of(e) for e in events]).timeline())
    two = to_json(CaseHistory(CASE, [entry_of(e) for e in reversed(events)]).timeline())
    assert one == two
    assert b"A256GCM" not in one and b"Y3Q=" not in one


def test_a_cases_allocations_are_in_its_state_as_of_any_moment():
    """The hub's allocations of a case are folded by the hub's own decider: who was allocated
    as of a moment; a case with no allocation shows no hub part at all."""
    from mend_audit.state import case_state

    coord = ("coord-erin1", "coordinator")
    base = journey()
    allocations = [
        recorded("hub", 1, 1, "CaseAllocated",
                 {"agency_id": "agency-a", "case_id": CASE, "practitioner_id": "prac-carol1",
                  "reason": "new_case"}, at=30, actor=coord),
        recorded("hub", 2, 2, "CaseDeallocated",
                 {"agency_id": "agency-a", "case_id": CASE, "practitioner_id": "prac-carol1",
                  "reason": "participant_request"}, at=40, actor=coord),
        recorded("hub", 3, 3, "CaseAllocated",
                 {"agency_id": "agency-a", "case_id": CASE, "practitioner_id": "prac-dave01",
                  "reason": "participant_request"}, at=40, actor=coord),
    ]  # fmt: skip
    assert "hub" not in case_state(base, T0 + timedelta(days=1))

    def allocated(at: int) -> list[str]:
        hub = case_state([*base, *allocations], T0 + timedelta(seconds=at))["hub"]
        return [a["practitioner_id"] for a in hub["state"]["current"]]

    assert allocated(35) == ["prac-carol1"]
    assert allocated(45) == ["prac-dave01"]
    by = case_state([*base, *allocations], T0 + timedelta(seconds=45))["hub"]["state"]["current"]
    assert by[0]["by"] == "coord-erin1"
