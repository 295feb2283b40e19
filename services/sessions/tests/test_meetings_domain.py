"""Meetings and the safety plan through decide: a direct contact session waits for a safety plan
agreed with the harmed person (letters do not); a contact meeting honours what the plan asks;
anyone of a meeting says whether they can attend; a halt, a withdrawal of taking part or the
case's closing cancels the upcoming meetings that depended on it, each once, naming the cause."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import HaltCause, SafetyArrangements
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.errors import Forbidden, GatesUnmet, Rejected
from mend_sessions import commands as c
from mend_sessions.domain import WithGates, WithPractitioner
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.meetings import WithPlans
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import MeetingStatus
from pydantic import ValidationError

FAC, SURV, HSB = "prac-0001", "prac-0002", "prac-0003"
HP_P = ev.Participant(id="hp-0001", role=R.HARMED_PERSON)
RP_P = ev.Participant(id="rp-0001", role=R.RESPONSIBLE_PERSON)
ALL = frozenset(ContactForm)
PLAN = SafetyArrangements(separate_arrival_departure=True, breaks=True)
PLANS = {HP_P.id: PLAN}
VIEW = GateView(
    consented_forms={"hp-0001": ALL, "rp-0001": ALL},
    acknowledged=frozenset({"rp-0001"}),
    risk_permitted_forms=ALL,
    safety_plans=frozenset(PLANS),
    practitioners={
        FAC: Practitioner(FAC, True, True, 2),
        SURV: Practitioner(SURV, True, True, 1, frozenset({ev.Specialism.SURVIVOR_SPECIALIST})),
        HSB: Practitioner(HSB, True, True, 1, frozenset({ev.Specialism.HSB_SPECIALIST})),
    },
)


def prepared(case) -> None:
    case.do(case.hp, c.OpenCase(harm_category="rape", justice_stage="none", route="self_referral"))
    case.do(case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC),
                                      VIEW.practitioners[FAC]))  # fmt: skip
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True, invited=(RP_P.id,)))
    case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON))
    for person in (HP_P, RP_P):
        case.do(case.fac, c.RecordPreparation(participant=person))


def schedule(case, form=ContactForm.FACE_TO_FACE, sid="sess-0001", view=VIEW) -> list:
    cmd = c.ScheduleSession(
        session_id=sid, form=form, participants=(HP_P, RP_P), facilitator_id=FAC,
        team=(SURV, HSB) if form == ContactForm.FACE_TO_FACE else (),
        scheduled_for=case.now + timedelta(days=1),
    )  # fmt: skip
    return case.do(case.fac, WithGates(cmd, view))


def contact_meeting(mid="meet-0001", sid="sess-0001", **kw) -> c.ArrangeMeeting:
    body = {
        "meeting_id": mid,
        "purpose": "contact",
        "session_id": sid,
        "timezone": "Europe/London",
        "channel": "in_person",
        "place": "Room 4, the centre",
        "arrangements": {"separate_arrival_departure": True, "breaks": True},
        **kw,
    }
    return c.ArrangeMeeting.model_validate(body)  # fmt: skip


def prep_meeting(case, mid="meet-0101", with_id=HP_P.id, **kw) -> c.ArrangeMeeting:
    body = {
        "meeting_id": mid,
        "purpose": "preparation",
        "with_id": with_id,
        "at": (case.now + timedelta(days=2)).isoformat(),
        "timezone": "America/New_York",
        "channel": "video",
        **kw,
    }
    return c.ArrangeMeeting.model_validate(body)  # fmt: skip


def test_direct_contact_waits_for_a_safety_plan_and_letters_do_not(case):
    prepared(case)
    no_plan = GateView(
        **{**{f: getattr(VIEW, f) for f in VIEW.__slots__}, "safety_plans": frozenset()}
    )
    with pytest.raises(GatesUnmet) as refused:
        schedule(case, view=no_plan)
    assert refused.value.gates == [
        "no safety plan agreed with the harmed person before direct contact (face_to_face)"
    ]
    # A plan agreed with the responsible person only is not the harmed person's.
    rp_only = GateView(**{**{f: getattr(VIEW, f) for f in VIEW.__slots__},
                          "safety_plans": frozenset({RP_P.id})})  # fmt: skip
    with pytest.raises(GatesUnmet):
        schedule(case, view=rp_only)
    assert [type(e) for e in schedule(case, ContactForm.LETTER, "sess-0002", no_plan)] == [
        ev.SessionScheduled
    ]
    assert [type(e) for e in schedule(case)] == [ev.SessionScheduled]
    # Starting checks it again: a plan the view no longer shows refuses the start.
    case.later(days=1)
    with pytest.raises(GatesUnmet, match="safety plan"):
        case.do(case.fac, WithGates(c.StartSession(session_id="sess-0001"), no_plan))


def test_a_contact_meeting_is_the_sessions_own_and_honours_the_safety_plan(case):
    prepared(case)
    schedule(case)
    with pytest.raises(Rejected, match="safety plan asks for: breaks"):
        case.do(case.fac, WithPlans(contact_meeting(arrangements={
            "separate_arrival_departure": True}), PLANS))  # fmt: skip
    with pytest.raises(Rejected, match="no safety plan"):
        case.do(case.fac, WithPlans(contact_meeting(), {}))
    with pytest.raises(Forbidden):
        case.do(case.hp, WithPlans(contact_meeting(), PLANS))
    [arranged] = case.do(case.fac, WithPlans(contact_meeting(), PLANS))
    session = case.state.sessions["sess-0001"]
    assert arranged.at == session.scheduled_for and arranged.key_owner == case.state.case_id
    assert arranged.attendees == (HP_P, RP_P) and arranged.facilitator_id == FAC
    with pytest.raises(Rejected, match="already has a meeting"):
        case.do(case.fac, WithPlans(contact_meeting("meet-0002"), PLANS))
    schedule(case, ContactForm.LETTER, "sess-0002")
    with pytest.raises(Rejected, match="written session has no meeting"):
        case.do(case.fac, WithPlans(contact_meeting("meet-0003", "sess-0002"), PLANS))


def test_a_meeting_names_a_zone_a_channel_kind_and_in_person_a_place():
    for bad in ({"timezone": "Mars/Olympus"}, {"timezone": "../../etc/passwd"},
                {"channel": "https://meet.example/x"}, {"place": None}):  # fmt: skip
        with pytest.raises(ValidationError):
            contact_meeting(**bad)
    assert contact_meeting(channel="phone", place=None).place is None


def test_the_harmed_person_arranges_her_own_preparation_and_attendees_answer_for_themselves(case):
    prepared(case)
    with pytest.raises(Forbidden):  # not her own
        case.do(case.hp, WithPlans(prep_meeting(case, with_id=RP_P.id), {}))
    with pytest.raises(Forbidden):
        case.do(case.rp, WithPlans(prep_meeting(case, with_id=RP_P.id), {}))
    [mine] = case.do(case.hp, WithPlans(prep_meeting(case), {}))
    assert (mine.timezone, mine.key_owner, mine.attendees) == ("America/New_York", HP_P.id, (HP_P,))
    give = c.GiveAvailability(meeting_id="meet-0101", available=True)
    with pytest.raises(Forbidden):
        case.do(case.rp, give)
    assert case.do(case.hp, give) == [
        ev.MeetingAvailabilityGiven(meeting_id="meet-0101", person_id=HP_P.id, available=True)
    ]
    assert case.do(case.hp, give) == []
    case.do(case.fac, give)
    assert dict(case.state.meetings["meet-0101"].availability) == {HP_P.id: True, FAC: True}
    with pytest.raises(Rejected, match="past"):
        case.do(case.fac, WithPlans(prep_meeting(case, "meet-0102", at=(
            case.now - timedelta(hours=1)).isoformat()), {}))  # fmt: skip
    [off] = case.do(case.hp, c.CancelMeeting(meeting_id="meet-0101"))
    assert (off.cause, off.cancelled_by_id) == (HaltCause.PARTICIPANT_HALT, HP_P.id)
    assert case.do(case.hp, c.CancelMeeting(meeting_id="meet-0101")) == []
    with pytest.raises(Rejected, match="cancelled"):
        case.do(case.hp, give)
    assert case.replayed() == case.state


def test_a_withdrawal_cancels_the_meetings_that_depended_on_it_each_once(case):
    prepared(case)
    schedule(case)
    case.do(case.fac, WithPlans(contact_meeting(), PLANS))
    case.do(case.fac, WithPlans(prep_meeting(case, "meet-0101", RP_P.id), {}))
    case.do(case.fac, WithPlans(prep_meeting(case, "meet-0102", HP_P.id), {}))
    withdrawal = uuid4()
    react = c.HaltSessionsDependingOnConsent(participant_id=RP_P.id, cause_event_id=withdrawal)
    events = case.do(case.system, react)
    assert [(type(e), getattr(e, "meeting_id", None)) for e in events] == [
        (ev.SessionHalted, None),
        (ev.MeetingCancelled, "meet-0001"),
        (ev.MeetingCancelled, "meet-0101"),
    ]
    assert {(e.cause, e.cause_event_id) for e in events} == {
        (HaltCause.CONSENT_WITHDRAWN, withdrawal)
    }
    assert case.do(case.system, react) == []  # redelivered: nothing twice
    assert case.state.meetings["meet-0102"].status == MeetingStatus.ARRANGED
    # A halt by hand cancels its session's meeting; closing the case, every one left.
    schedule(case, sid="sess-0002")
    case.do(case.fac, WithPlans(contact_meeting("meet-0002", "sess-0002"), PLANS))
    [_, off] = case.do(case.hp, c.HaltSession(session_id="sess-0002"))
    assert (off.meeting_id, off.cause, off.cancelled_by_id) == (
        "meet-0002", HaltCause.PARTICIPANT_HALT, HP_P.id)  # fmt: skip
    events = case.do(case.hp, c.CloseCase(reason="harmed_person_decision"))
    assert [getattr(e, "meeting_id", None) for e in events] == ["meet-0102", None]
    assert case.replayed() == case.state


def test_a_withdrawal_of_one_form_leaves_preparation_meetings_standing(case):
    prepared(case)
    case.do(case.fac, WithPlans(prep_meeting(case, "meet-0101", RP_P.id), {}))
    react = c.HaltSessionsDependingOnConsent(
        participant_id=RP_P.id, forms=(ContactForm.LETTER,), cause_event_id=uuid4()
    )
    assert case.do(case.system, react) == []
    assert case.state.meetings["meet-0101"].upcoming
