"""The harmed person's own materials through decide: hers to write and revise, shown to the
facilitator item by item by her decision, to the responsible person only as a letter through
the facilitator's review, taken back before delivery; every opening recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.errors import Forbidden, Rejected
from mend_sessions import commands as c
from mend_sessions.domain import WithGates, WithPractitioner
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.materials import WithText
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import LetterStatus

FAC = "prac-0001"
HP_P = ev.Participant(id="hp-0001", role=R.HARMED_PERSON)
RP_P = ev.Participant(id="rp-0001", role=R.RESPONSIBLE_PERSON)
ALL = frozenset(ContactForm)
VIEW = GateView(consented_forms={"hp-0001": ALL, "rp-0001": ALL},
                acknowledged=frozenset({"rp-0001"}), risk_permitted_forms=ALL,
                practitioners={FAC: Practitioner(FAC, True, True, 2)})  # fmt: skip
WHY = "Why me?"


def letters_running(case, form=ContactForm.LETTER) -> None:
    case.do(case.hp, c.OpenCase(harm_category="rape", justice_stage="none", route="self_referral"))
    case.do(case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC),
                                      VIEW.practitioners[FAC]))  # fmt: skip
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True, invited=(RP_P.id,)))
    case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON))
    people = (HP_P,) if form == ContactForm.UNSENT_LETTER else (HP_P, RP_P)
    for person in people:
        case.do(case.fac, c.RecordPreparation(participant=person))
    case.do(case.fac, WithGates(c.ScheduleSession(
        session_id="sess-0001", form=form, participants=people, facilitator_id=FAC,
        scheduled_for=case.now + timedelta(days=1)), VIEW))  # fmt: skip
    case.later(days=1)
    case.do(case.fac, WithGates(c.StartSession(session_id="sess-0001"), VIEW))


def offer(item="item-0001", letter="letter-0001", text=WHY) -> WithText:
    return WithText(c.OfferMaterial(item_id=item, session_id="sess-0001", letter_id=letter), text)


def test_she_writes_revises_shares_and_takes_back_an_item_and_every_reading_is_recorded(case):
    letters_running(case)
    write = c.WriteMaterial(item_id="item-0001", kind="question", content=WHY)
    for someone in (case.rp, case.fac, case.sup):
        with pytest.raises(Forbidden):
            case.do(someone, write)
    assert case.do(case.hp, write) == [
        ev.MaterialWritten(item_id="item-0001", kind="question", owner_id=HP_P.id, content=WHY)
    ]
    with pytest.raises(Forbidden):
        case.do(case.fac, c.ReviseMaterial(item_id="item-0001", content="-"))
    case.do(case.hp, c.ReviseMaterial(item_id="item-0001", content="Why me, of all people?"))
    read = c.RecordMaterialRead(item_id="item-0001")
    with pytest.raises(Forbidden, match="not shared"):  # not shared yet
        case.do(case.fac, read)
    assert case.do(case.hp, c.ShareMaterial(item_id="item-0001")) == [
        ev.MaterialShared(item_id="item-0001")
    ]
    assert case.do(case.hp, c.ShareMaterial(item_id="item-0001")) == []
    assert case.do(case.fac, read) == [ev.MaterialRead(item_id="item-0001")]
    assert case.do(case.fac, read) == [ev.MaterialRead(item_id="item-0001")]  # every time
    with pytest.raises(Forbidden):
        case.do(case.rp, read)
    case.do(case.hp, c.UnshareMaterial(item_id="item-0001"))
    with pytest.raises(Forbidden):
        case.do(case.fac, read)
    item = case.state.materials["item-0001"]
    assert (item.versions, item.reads, item.shared) == (2, 2, False)
    assert case.replayed() == case.state


def test_an_item_reaches_the_responsible_person_only_as_a_reviewed_letter(case):
    letters_running(case)
    case.do(case.hp, c.WriteMaterial(item_id="item-0001", kind="to_hear", content=WHY))
    events = case.do(case.hp, offer())
    assert [type(e) for e in events] == [
        ev.MaterialShared,
        ev.MaterialOffered,
        ev.LetterDrafted,
        ev.LetterSubmitted,
    ]
    assert (events[2].recipient_id, events[2].content) == (RP_P.id, WHY)
    with pytest.raises(Rejected, match="waits as a letter"):
        case.do(case.hp, offer(letter="letter-0002"))
    with pytest.raises(Rejected, match="take it back first"):
        case.do(case.hp, c.ReviseMaterial(item_id="item-0001", content="-"))
    # The letters' own review: the facilitator approves, she sends it.
    case.do(case.fac, c.ApproveLetter(letter_id="letter-0001"))
    case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))
    with pytest.raises(Rejected, match="delivered"):
        case.do(case.hp, c.UnshareMaterial(item_id="item-0001"))


def test_taking_an_item_back_keeps_its_waiting_letter_unsent(case):
    letters_running(case)
    case.do(case.hp, c.WriteMaterial(item_id="item-0001", kind="impact_statement", content=WHY))
    case.do(case.hp, offer())
    events = case.do(case.hp, c.UnshareMaterial(item_id="item-0001"))
    assert events == [ev.MaterialUnshared(item_id="item-0001"),
                      ev.LetterKeptUnsent(letter_id="letter-0001")]  # fmt: skip
    assert case.state.letters["letter-0001"].status == LetterStatus.KEPT_UNSENT
    assert case.do(case.hp, c.UnshareMaterial(item_id="item-0001")) == []
    # Taken back, it is hers to revise and offer again, as a new letter.
    case.do(case.hp, c.ReviseMaterial(item_id="item-0001", content="again"))
    assert ev.LetterDrafted in [type(e) for e in case.do(case.hp, offer(letter="letter-0002"))]


def test_an_item_is_offered_only_where_the_responsible_person_reads_letters(case):
    letters_running(case, ContactForm.UNSENT_LETTER)
    case.do(case.hp, c.WriteMaterial(item_id="item-0001", kind="question", content=WHY))
    with pytest.raises(Rejected, match="session with them"):
        case.do(case.hp, offer())
    with pytest.raises(Rejected, match="no longer readable"):
        case.do(case.hp, offer(text=None))
