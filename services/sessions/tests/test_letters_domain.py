"""Letters and shuttle messages through decide: drafted, reviewed, delivered or kept unsent, and
stopped, each once, by whatever halts their session (R2, R3)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import HaltCause
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.errors import Forbidden, NotFound, Rejected
from mend_sessions import commands as c
from mend_sessions.domain import WithGates, WithPractitioner
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import LetterStatus

FAC, SURV, HSB = "prac-0001", "prac-0002", "prac-0003"
HP_P = ev.Participant(id="hp-0001", role=R.HARMED_PERSON)
RP_P = ev.Participant(id="rp-0001", role=R.RESPONSIBLE_PERSON)
ALL = frozenset(ContactForm)
VIEW = GateView(
    consented_forms={"hp-0001": ALL, "rp-0001": ALL},
    acknowledged=frozenset({"rp-0001"}),
    risk_permitted_forms=ALL,
    safety_plans=frozenset({"hp-0001"}),
    practitioners={
        FAC: Practitioner(FAC, True, True, 2),
        SURV: Practitioner(SURV, True, True, 1, frozenset({ev.Specialism.SURVIVOR_SPECIALIST})),
        HSB: Practitioner(HSB, True, True, 1, frozenset({ev.Specialism.HSB_SPECIALIST})),
    },
)
TEXT = "Why did you choose me?"


def written_session(case, form=ContactForm.LETTER, sid="sess-0001", start=True) -> None:
    """An open case with a letter exchange (or another written form) scheduled and started."""
    case.do(case.hp, c.OpenCase(harm_category="rape", justice_stage="none", route="self_referral"))
    choose = c.ChooseFacilitator(practitioner_id=FAC)
    case.do(case.hp, WithPractitioner(choose, VIEW.practitioners[FAC]))
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True, invited=(RP_P.id,)))
    case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON))
    people = (HP_P,) if form == ContactForm.UNSENT_LETTER else (HP_P, RP_P)
    for person in people:
        case.do(case.fac, c.RecordPreparation(participant=person))
    schedule = c.ScheduleSession(
        session_id=sid, form=form, participants=people, facilitator_id=FAC,
        team=(SURV, HSB) if form == ContactForm.FACE_TO_FACE else (),
        scheduled_for=case.now + timedelta(days=1),
    )  # fmt: skip
    case.do(case.fac, WithGates(schedule, VIEW))
    if start:
        case.later(days=1)
        case.do(case.fac, WithGates(c.StartSession(session_id=sid), VIEW))


def approved(case, letter="letter-0001", author=None, reply_to=None) -> None:
    author = author or case.hp
    case.do(
        author,
        c.DraftLetter(letter_id=letter, session_id="sess-0001", content=TEXT, reply_to=reply_to),
    )
    case.do(author, c.SubmitLetter(letter_id=letter))
    case.do(case.fac, c.ApproveLetter(letter_id=letter))


def status(case, letter="letter-0001") -> LetterStatus:
    return case.state.letters[letter].status


def test_a_letter_is_drafted_returned_revised_approved_and_delivered_to_the_other_party(case):
    written_session(case)
    [drafted] = case.do(
        case.hp, c.DraftLetter(letter_id="letter-0001", session_id="sess-0001", content=TEXT)
    )
    assert drafted == ev.LetterDrafted(
        letter_id="letter-0001",
        session_id="sess-0001",
        author_id=HP_P.id,
        recipient_id=RP_P.id,
        content=TEXT,
    )
    assert case.do(case.hp, c.SubmitLetter(letter_id="letter-0001")) == [
        ev.LetterSubmitted(letter_id="letter-0001")
    ]
    assert case.do(case.hp, c.SubmitLetter(letter_id="letter-0001")) == []  # a retry
    back = c.ReturnLetter(letter_id="letter-0001", reason="identifying_details", note="a street")
    [returned] = case.do(case.fac, back)
    assert returned.author_id == HP_P.id and returned.note == "a street"
    assert status(case) == LetterStatus.RETURNED
    with pytest.raises(Rejected, match="revise it first"):
        case.do(case.hp, c.SubmitLetter(letter_id="letter-0001"))
    case.do(case.hp, c.ReviseLetter(letter_id="letter-0001", content="Why me?"))
    case.do(case.hp, c.SubmitLetter(letter_id="letter-0001"))
    case.do(case.fac, c.ApproveLetter(letter_id="letter-0001"))
    assert case.do(case.hp, c.DeliverLetter(letter_id="letter-0001")) == [
        ev.LetterDelivered(letter_id="letter-0001", recipient_id=RP_P.id)
    ]
    assert case.do(case.hp, c.DeliverLetter(letter_id="letter-0001")) == []
    assert case.state.letters["letter-0001"].drafts == 2
    assert case.replayed() == case.state


def test_the_responsible_persons_reply_follows_the_same_path(case):
    written_session(case, ContactForm.INDIRECT)
    approved(case)
    with pytest.raises(Rejected, match="delivered"):  # not delivered yet: nothing to answer
        case.do(
            case.rp,
            c.DraftLetter(
                letter_id="letter-0002", session_id="sess-0001", content="-", reply_to="letter-0001"
            ),
        )
    case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))
    approved(case, "letter-0002", case.rp, reply_to="letter-0001")
    assert status(case, "letter-0002") == LetterStatus.APPROVED
    [out] = case.do(case.rp, c.DeliverLetter(letter_id="letter-0002"))
    assert out.recipient_id == HP_P.id
    with pytest.raises(Rejected, match="reply"):  # a reply answers only a letter to its author
        case.do(
            case.hp,
            c.DraftLetter(
                letter_id="letter-0003", session_id="sess-0001", content="-", reply_to="letter-0001"
            ),
        )


def test_only_the_author_writes_and_sends_and_only_the_facilitator_reviews(case):
    written_session(case)
    draft = c.DraftLetter(letter_id="letter-0001", session_id="sess-0001", content=TEXT)
    for someone in (case.fac, case.sup, case.coord):
        with pytest.raises(Forbidden):
            case.do(someone, draft)
    case.do(case.hp, draft)
    for someone in (case.rp, case.fac):
        with pytest.raises(Forbidden):
            case.do(someone, c.SubmitLetter(letter_id="letter-0001"))
    case.do(case.hp, c.SubmitLetter(letter_id="letter-0001"))
    for someone in (case.hp, case.rp, case.other_prac):
        with pytest.raises(Forbidden):
            case.do(someone, c.ApproveLetter(letter_id="letter-0001"))
    case.do(case.fac, c.ApproveLetter(letter_id="letter-0001"))
    for someone in (case.rp, case.fac):
        with pytest.raises(Forbidden):
            case.do(someone, c.DeliverLetter(letter_id="letter-0001"))
    with pytest.raises(NotFound):
        case.do(case.hp, c.SubmitLetter(letter_id="letter-0404"))


def test_nothing_is_delivered_before_the_session_passed_its_gates_or_while_paused(case):
    written_session(case, start=False)
    approved(case)
    with pytest.raises(Rejected, match="has not started"):
        case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))
    case.later(days=1)
    case.do(case.fac, WithGates(c.StartSession(session_id="sess-0001"), VIEW))
    case.do(case.hp, c.PauseCase())
    with pytest.raises(Rejected, match="paused"):
        case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))


def test_a_letter_never_sent_is_kept_and_never_delivered(case):
    written_session(case, ContactForm.UNSENT_LETTER)
    approved(case)
    assert case.state.letters["letter-0001"].recipient_id is None
    with pytest.raises(Rejected, match="never delivered"):
        case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))
    assert case.do(case.hp, c.KeepLetterUnsent(letter_id="letter-0001")) == [
        ev.LetterKeptUnsent(letter_id="letter-0001")
    ]
    assert case.do(case.hp, c.KeepLetterUnsent(letter_id="letter-0001")) == []
    with pytest.raises(Rejected):
        case.do(case.hp, c.ReviseLetter(letter_id="letter-0001", content="-"))


def test_a_withdrawal_stops_every_undelivered_letter_of_the_halted_session_once(case):
    written_session(case)
    approved(case, "letter-0001")
    case.do(case.hp, c.DeliverLetter(letter_id="letter-0001"))
    approved(case, "letter-0002")
    case.do(case.rp, c.DraftLetter(letter_id="letter-0003", session_id="sess-0001", content="-"))
    approved(case, "letter-0004")
    case.do(case.hp, c.KeepLetterUnsent(letter_id="letter-0004"))
    withdrawal = uuid4()
    react = c.HaltSessionsDependingOnConsent(participant_id=RP_P.id, cause_event_id=withdrawal)
    events = case.do(case.system, react)
    assert [type(e) for e in events] == [ev.SessionHalted, *[ev.LetterDeliveryStopped] * 2]
    assert [(e.letter_id, e.cause, e.cause_event_id) for e in events[1:]] == [
        ("letter-0002", HaltCause.CONSENT_WITHDRAWN, withdrawal),
        ("letter-0003", HaltCause.CONSENT_WITHDRAWN, withdrawal),
    ]
    assert case.do(case.system, react) == []  # redelivered: nothing twice
    assert status(case, "letter-0001") == LetterStatus.DELIVERED
    assert status(case, "letter-0004") == LetterStatus.KEPT_UNSENT
    with pytest.raises(Rejected):
        case.do(case.hp, c.DeliverLetter(letter_id="letter-0002"))
    with pytest.raises(Rejected, match="halted"):
        case.do(
            case.hp, c.DraftLetter(letter_id="letter-0009", session_id="sess-0001", content="-")
        )


def test_a_participants_halt_and_a_closing_stop_letters_with_their_own_cause(case, make_case):
    written_session(case)
    approved(case)
    events = case.do(case.rp, c.HaltSession(session_id="sess-0001"))
    assert events[1] == ev.LetterDeliveryStopped(
        letter_id="letter-0001", session_id="sess-0001", cause=HaltCause.PARTICIPANT_HALT
    )
    other = make_case()
    written_session(other)
    approved(other)
    events = other.do(other.hp, c.CloseCase(reason="harmed_person_decision"))
    assert [type(e) for e in events] == [ev.SessionHalted, ev.LetterDeliveryStopped, ev.CaseClosed]


def test_a_letter_only_belongs_to_a_written_session(case):
    written_session(case, ContactForm.FACE_TO_FACE)
    with pytest.raises(Rejected, match="letter, shuttle"):
        case.do(
            case.hp, c.DraftLetter(letter_id="letter-0001", session_id="sess-0001", content=TEXT)
        )


ACTIONS = st.lists(st.sampled_from(["deliver", "keep", "halt", "withdraw", "draft"]), max_size=8)


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_no_letter_is_ever_delivered_after_its_session_was_halted(make_case, actions):
    case = make_case()
    written_session(case)
    n = 0
    halted = False
    for action in actions:
        n += 1
        letter = f"letter-{n:04d}"
        try:
            if action == "draft":
                approved(case, letter)
            elif action in ("deliver", "keep"):
                approved(case, letter)
                cmd = c.DeliverLetter if action == "deliver" else c.KeepLetterUnsent
                case.do(case.hp, cmd(letter_id=letter))
            elif action == "halt":
                case.do(case.hp, c.HaltSession(session_id="sess-0001"))
            else:
                case.do(
                    case.system,
                    c.HaltSessionsDependingOnConsent(
                        participant_id=HP_P.id, cause_event_id=uuid4()
                    ),
                )
        except Rejected:
            assert halted  # only a halted session refuses
        halted = halted or action in ("halt", "withdraw")
        if halted:
            assert not any(x.pending for x in case.state.letters.values())
    delivered_after = False
    seen_halt = False
    for event, _ in case.history:
        seen_halt = seen_halt or isinstance(event, ev.SessionHalted)
        delivered_after = delivered_after or (seen_halt and isinstance(event, ev.LetterDelivered))
    assert not delivered_after
    stops = [e.letter_id for e, _ in case.history if isinstance(e, ev.LetterDeliveryStopped)]
    assert len(stops) == len(set(stops))
