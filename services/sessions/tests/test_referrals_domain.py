"""Referrals and the responsible person's answer through decide: a referral's route names its
agency (or none for a self-referral), its outcome is recorded once; once the responsible person
declined or was not reachable, the harmed person is offered the forms without them and no
session with them is scheduled or started."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.contracts.vocabulary import ContactForm
from mend_events.errors import Forbidden, NotFound, Rejected
from mend_sessions import commands as c
from mend_sessions.domain import WithGates, WithPractitioner
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import CaseStatus

FAC, RP = "prac-0001", "rp-0001"
ALL = frozenset(ContactForm)
VIEW = GateView(consented_forms={"hp-0001": ALL, RP: ALL}, acknowledged=frozenset({RP}),
                risk_permitted_forms=ALL, safety_plans=frozenset({"hp-0001"}),
                practitioners={FAC: Practitioner(FAC, True, True, 2)})  # fmt: skip
REFERRAL = c.RecordReferral(referral_id="ref-0001", harmed_person_id="hp-0001", source="agency",
                            referring_agency="police-north", contact_person_id="pol-0001",
                            contact_about=("rj_information",), contact_by=("phone",))  # fmt: skip


def test_a_referral_invites_and_its_outcome_is_recorded_once(case):
    with pytest.raises(Forbidden):
        case.do(case.rp, REFERRAL)
    [event] = case.do(case.fac, REFERRAL)
    assert event.referring_agency == "police-north" and case.state.status == CaseStatus.INVITED
    assert case.do(case.fac, REFERRAL) == []
    with pytest.raises(ValueError):
        c.RecordReferral(referral_id="ref-0002", harmed_person_id="hp-0001", source="self",
                         referring_agency="police-north")  # fmt: skip
    done = c.RecordReferralOutcome(referral_id="ref-0001", outcome="taken_up")
    assert case.do(case.coord, done) == [
        ev.ReferralOutcomeRecorded(referral_id="ref-0001", outcome="taken_up")]  # fmt: skip
    assert case.do(case.coord, done) == []
    with pytest.raises(Rejected):
        case.do(case.coord, c.RecordReferralOutcome(referral_id="ref-0001", outcome="declined"))
    with pytest.raises(NotFound):
        case.do(case.coord, c.RecordReferralOutcome(referral_id="ref-0404", outcome="declined"))
    with pytest.raises(Forbidden):
        case.do(case.hp, done)
    # She refers herself too (an enquiry of her own).
    mine = c.RecordReferral(referral_id="ref-0003", harmed_person_id="hp-0001", source="self")
    assert len(case.do(case.hp, mine)) == 1


def test_once_he_declines_she_is_offered_the_forms_without_him_and_none_with_him(case):
    case.do(case.hp, c.OpenCase(harm_category="rape", justice_stage="none", route="self_referral"))
    case.do(
        case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC), VIEW.practitioners[FAC])
    )
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True, invited=(RP,)))
    case.do(case.fac, c.EnrolParticipant(person_id=RP, role=R.RESPONSIBLE_PERSON))
    people = (ev.Participant(id="hp-0001", role=R.HARMED_PERSON),
              ev.Participant(id=RP, role=R.RESPONSIBLE_PERSON))  # fmt: skip
    for p in people:
        case.do(case.fac, c.RecordPreparation(participant=p))
    letter = c.ScheduleSession(
        session_id="sess-0001",
        form="letter",
        participants=people,
        facilitator_id=FAC,
        scheduled_for=case.now + timedelta(days=1),
    )
    case.do(case.fac, WithGates(letter, VIEW))
    answer = c.RecordResponsiblePersonOutcome(outcome="declined")
    with pytest.raises(Forbidden):
        case.do(case.hp, answer)
    [event] = case.do(case.fac, answer)
    assert event.offered_forms == ("story_telling", "unsent_letter", "conference")
    assert case.do(case.fac, answer) == []
    again = letter.model_copy(update={"session_id": "sess-0002"})
    with pytest.raises(Rejected, match="declined"):
        case.do(case.fac, WithGates(again, VIEW))
    case.later(days=1)
    with pytest.raises(Rejected, match="declined"):  # the one scheduled before: not started
        case.do(case.fac, WithGates(c.StartSession(session_id="sess-0001"), VIEW))
    story = c.ScheduleSession(
        session_id="sess-0003",
        form="unsent_letter",
        participants=people[:1],
        facilitator_id=FAC,
        scheduled_for=case.now + timedelta(days=1),
    )
    assert len(case.do(case.fac, WithGates(story, VIEW))) == 1  # without him: as before
    assert case.replayed() == case.state
