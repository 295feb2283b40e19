"""The case index's fold (pure): what each service's events make of a case's entry, in any
order the topics deliver them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import (
    AftercareOffered,
    CheckInScheduled,
    OfferCause,
    support_stream,
)
from mend_events.contracts.catalog.hub import AgencyOnboarded, CaseAllocated
from mend_events.contracts.catalog.risk import RiskFlagRaised, RiskFlagResolved
from mend_events.contracts.catalog.sessions import CaseClosed, CasePaused, SessionHalted
from mend_testkit.samples import case_opened, consent_given, delivered
from mend_web.index import model

CASE, HP, PRAC = "case-idx001", "hp-idx0001", "prac-idx001"
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def fold(events) -> model.Entry:
    entry = model.empty(CASE)
    for e in events:
        entry = model.evolve(entry, e)
    return entry


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def opened():
    return delivered("sessions", CASE, case_opened(HP), at=at(0))


def allocated():
    event = CaseAllocated(agency_id="agency-a", case_id=CASE, practitioner_id=PRAC,
                          reason="new_case")  # fmt: skip
    return delivered("hub", "allocations", event, role=Role.COORDINATOR, at=at(1))


def halted():
    event = SessionHalted(session_id="sess-0001", halted_by_id=HP,
                          halted_by_role=Role.HARMED_PERSON, cause="participant_halt")  # fmt: skip
    return delivered("sessions", CASE, event, at=at(3))


def test_opening_allocation_and_participants_whatever_the_order():
    for events in itertools.permutations([opened(), allocated()]):
        e = fold(events)
        assert (e["agency"], e["harm_category"], e["stage"]) == ("agency-a", "sexual_assault",
                                                                "opening")  # fmt: skip
        assert e["practitioners"] == [PRAC]
        assert e["participants"] == {HP: "harmed_person"}
        assert e["last_activity"] == at(1).isoformat()


def test_hub_events_other_than_allocations_are_about_no_case():
    event = delivered("hub", "agency-a", AgencyOnboarded(agency_id="agency-a", name="A",
                                                        sign_in="local"))  # fmt: skip
    assert model.case_of(event) is None
    assert model.case_of(allocated()) == CASE


def test_a_support_plan_without_a_case_is_no_case_of_the_index():
    plan = support_stream("agency-a", "enq-0a1b2c3d4e5f")
    event = delivered("aftercare", plan, CheckInScheduled(
        check_in_id=uuid4(), participant_id="enq-0a1b2c3d4e5f",
        participant_role="supported_person", due_at=at(5)))  # fmt: skip
    assert model.case_of(event) is None


def test_gates_follow_consent_risk_pause_and_halts():
    e = fold([opened()])
    assert model.gates(e) == ["consent_missing", "risk_decision_missing"]
    paused = delivered("sessions", CASE, CasePaused(reason="harmed_person_request"), at=at(2))
    e = fold([opened(), paused, halted()])
    assert model.gates(e) == ["paused", "consent_missing", "risk_decision_missing",
                              "halted_awaiting_aftercare"]  # fmt: skip


def test_a_halt_awaits_after_care_until_an_offer_names_it_in_either_order():
    halt = halted()
    offer = delivered("aftercare", CASE, AftercareOffered(
        harmed_person_id=HP, cause=OfferCause.SESSION_HALTED, cause_event_id=halt.event_id,
    ), at=at(4))  # fmt: skip
    assert [i[0] for i in model.due_items(fold([opened(), halt]))] == ["aftercare"]
    for events in ([opened(), halt, offer], [opened(), offer, halt]):
        e = fold(events)
        assert "halted_awaiting_aftercare" not in model.gates(e)
        assert model.due_items(e) == []


def test_due_items_soonest_first_and_none_once_closed():
    grant = consent_given(HP, expires_at=at(48))
    flag_id = uuid4()
    raise_flag = RiskFlagRaised(flag_id=flag_id, severity="high", category="safety_threat",
                                affects=None)  # fmt: skip
    check_in = CheckInScheduled(check_in_id=uuid4(), participant_id=HP,
                                participant_role="harmed_person", due_at=at(24))  # fmt: skip
    events = [
        opened(),
        delivered("consent", CASE, grant, at=at(1)),
        delivered("risk", CASE, raise_flag, role=Role.PRACTITIONER, at=at(2)),
        delivered("aftercare", CASE, check_in, role=Role.PRACTITIONER, at=at(3)),
    ]
    e = fold(events)
    assert [(k, when) for k, _, when in model.due_items(e)] == [
        ("flag", at(2)), ("check_in", at(24)), ("consent_lapsing", at(48))]  # fmt: skip
    assert "consent_missing" not in model.gates(e) and "flag_open" in model.gates(e)
    resolved = RiskFlagResolved(flag_id=flag_id, reason="risk_addressed")
    e = fold([*events, delivered("risk", CASE, resolved, role=Role.PRACTITIONER, at=at(5))])
    assert [k for k, _, _ in model.due_items(e)] == ["check_in", "consent_lapsing"]
    closed = delivered("sessions", CASE, CaseClosed(reason="harmed_person_ready"), at=at(6))
    e = fold([*events, closed])
    assert (model.due_items(e), model.gates(e), e["stage"]) == ([], [], "closed")


def test_the_fold_never_changes_its_input():
    e = fold([opened()])
    snapshot = repr(e)
    model.evolve(e, allocated())
    assert repr(e) == snapshot
