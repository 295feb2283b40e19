"""R4: each gate alone refuses scheduling and starting, names itself; with all met, both work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import (
    CaseOpened,
    CasePaused,
    FacilitatorChosen,
    HaltCause,
    HarmCategory,
    JusticeStage,
    Participant,
    ParticipantEnrolled,
    ParticipantRole,
    PauseReason,
    PreferencesSet,
    PreparationSessionHeld,
    Route,
    SessionCompleted,
    SessionHalted,
    SessionScheduled,
    SessionStarted,
    Specialism,
)
from mend_events.errors import GatesUnmet
from mend_sessions.commands import ScheduleSession, StartSession
from mend_sessions.domain import WithGates
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.gates import (
    GATE_NAMES,
    DueReassessment,
    GateView,
    SessionRequest,
    evaluate_gates,
    gate_report,
    reassessment_overdue,
)
from mend_sessions.domain.practitioners import Practitioner

HP, RP, SUP = "hp-0001", "rp-0001", "sup-0001"
FAC, SURV, HSB, ALT = "prac-0001", "prac-0002", "prac-0003", "prac-0004"
ALL = frozenset(ContactForm)
F2F = ContactForm.FACE_TO_FACE
R = ParticipantRole
PEOPLE = (Participant(id=HP, role=R.HARMED_PERSON), Participant(id=RP, role=R.RESPONSIBLE_PERSON))
SUPPORTER = Participant(id=SUP, role=R.SUPPORTER)


def _prac(pid: str, level: int = 2, *specialisms: Specialism) -> Practitioner:
    return Practitioner(pid, True, True, level, frozenset(specialisms))


@dataclass
class Setup:
    """A case where a face-to-face meeting of HP, RP and a supporter meets every gate."""

    facilitator: str = FAC
    min_gap_days: int = 14
    permitted_forms: frozenset[ContactForm] = ALL
    rp_takes_part: bool = True
    invited: tuple[str, ...] = (SUP,)
    prepared: tuple[Participant, ...] = (*PEOPLE, SUPPORTER)
    paused: bool = False
    last_session_end: datetime | None = None
    consented: dict[str, frozenset[ContactForm]] = field(
        default_factory=lambda: {HP: ALL, RP: ALL, SUP: ALL}
    )
    acknowledged: frozenset[str] = frozenset({RP})
    risk_permits: frozenset[ContactForm] = ALL
    reassessments_due: tuple[DueReassessment, ...] = ()
    severe_flags: frozenset = frozenset()
    safety_plans: frozenset[str] = frozenset({HP})
    practitioners: dict[str, Practitioner] = field(
        default_factory=lambda: {
            FAC: _prac(FAC),
            ALT: _prac(ALT, 3),
            SURV: _prac(SURV, 1, Specialism.SURVIVOR_SPECIALIST),
            HSB: _prac(HSB, 1, Specialism.HSB_SPECIALIST),
        }
    )

    def view(self) -> GateView:
        return GateView(
            consented_forms=self.consented,
            acknowledged=self.acknowledged,
            risk_permitted_forms=self.risk_permits,
            reassessments_due=self.reassessments_due,
            severe_flags=self.severe_flags,
            safety_plans=self.safety_plans,
            practitioners=self.practitioners,
        )

    def build(self, case, with_session: bool = False) -> None:
        """Record the history straight into the stream (the gates are what is under test)."""
        case.record(CaseOpened(
            harm_category=HarmCategory.SEXUAL_ASSAULT, justice_stage=JusticeStage.POST_SENTENCE,
            agency="rj-hub", harmed_person_id=HP, route=Route.SELF_REFERRAL,
        ))  # fmt: skip
        for person in (RP, SUP):  # members from the start; preferences may exclude them later
            role = ParticipantRole.RESPONSIBLE_PERSON if person == RP else ParticipantRole.SUPPORTER
            case.record(ParticipantEnrolled(person_id=person, role=role))
        case.record(FacilitatorChosen(practitioner_id=self.facilitator), case.hp)
        case.record(PreferencesSet(
            min_gap_days=self.min_gap_days, permitted_forms=tuple(sorted(self.permitted_forms)),
            speaks_first=None, responsible_person_takes_part=self.rp_takes_part,
            invited=self.invited, progress_updates=False,
        ), case.hp)  # fmt: skip
        for person in self.prepared:
            case.record(PreparationSessionHeld(participant=person))
        if self.last_session_end is not None:
            _past_session(case, self.last_session_end)
        if self.paused:
            case.record(CasePaused(reason=PauseReason.HARMED_PERSON_REQUEST), case.hp)
        if with_session:
            case.record(SessionScheduled(**schedule_cmd(case).model_dump(), speaks_first=HP))


def _past_session(case, ended: datetime) -> None:
    now, case.now = case.now, ended - timedelta(hours=2)
    past = schedule_cmd(case, "sess-0000", at=case.now)
    case.record(SessionScheduled(**past.model_dump(), speaks_first=HP))
    case.record(SessionStarted(session_id="sess-0000"))
    case.now = ended
    case.record(SessionCompleted(session_id="sess-0000"))
    case.now = now


def schedule_cmd(
    case, session_id: str = "sess-0001", at: datetime | None = None
) -> ScheduleSession:
    return ScheduleSession(
        session_id=session_id,
        form=F2F,
        participants=(*PEOPLE, SUPPORTER),
        facilitator_id=FAC,
        team=(SURV, HSB),
        scheduled_for=at or case.now + timedelta(days=1),
    )


def _without(people: tuple[Participant, ...], pid: str) -> tuple[Participant, ...]:
    return tuple(p for p in people if p.id != pid)


def _lapsed(setup: Setup, pid: str, **change: object) -> None:
    setup.practitioners = {**setup.practitioners, pid: replace(setup.practitioners[pid], **change)}


def _due(trigger: str, **since: float) -> DueReassessment:
    """A reassessment fallen due `since` (a timedelta's arguments) from the harness's T0."""
    return DueReassessment(trigger, datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(**since))


def _gap(setup: Setup) -> None:
    setup.last_session_end = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)  # 3 days before the clock


# Each breaker spoils exactly one gate of an otherwise ready case; the text names the gate.
BREAKERS: dict[str, tuple[Callable[[Setup], None], str]] = {
    "paused": (lambda s: setattr(s, "paused", True), "case is paused"),
    "severe flag": (
        lambda s: setattr(s, "severe_flags", frozenset({uuid4()})),
        "unresolved severe risk flag",
    ),
    "harmed person's consent": (
        lambda s: s.consented.update({HP: ALL - {F2F}}),
        "harmed person's consent does not cover face_to_face",
    ),
    "responsible person's consent": (
        lambda s: s.consented.pop(RP),
        "responsible person's consent does not cover face_to_face",
    ),
    "supporter's consent": (
        lambda s: s.consented.update({SUP: frozenset({ContactForm.LETTER})}),
        "supporter sup-0001's consent does not cover face_to_face",
    ),
    "acknowledgement": (
        lambda s: setattr(s, "acknowledged", frozenset()),
        "responsible person's acknowledgement does not stand",
    ),
    "risk assessment": (
        lambda s: setattr(s, "risk_permits", frozenset({ContactForm.LETTER})),
        "no current risk assessment permits face_to_face",
    ),
    "reassessment due": (
        lambda s: setattr(s, "reassessments_due", (_due("case_stage_changed", days=-1),)),
        "no current risk assessment permits face_to_face (a reassessment is due since "
        "2026-11-01 09:00 UTC: case stage changed)",
    ),
    "facilitator not chosen one": (
        lambda s: setattr(s, "facilitator", ALT),
        "facilitator prac-0001 is not the one the harmed person chose",
    ),
    "facilitator unqualified": (
        lambda s: _lapsed(s, FAC, sexual_harm_trained=False),
        "chosen facilitator is not qualified (not trained in sexual-harm casework)",
    ),
    "survivor specialist": (
        lambda s: _lapsed(s, SURV, specialisms=frozenset()),
        "survivor specialist missing from team",
    ),
    "hsb specialist": (
        lambda s: _lapsed(s, HSB, specialisms=frozenset()),
        "harmful sexual behaviour specialist missing from team",
    ),
    "preparation": (
        lambda s: setattr(s, "prepared", _without(s.prepared, RP)),
        "preparation not done with responsible person",
    ),
    "minimum gap": (
        _gap,
        "minimum gap of 14 days since last session not respected (next allowed 2026-11-13",
    ),
    "form not preferred": (
        lambda s: setattr(s, "permitted_forms", ALL - {F2F}),
        "harmed person's preferences do not include face_to_face",
    ),
    "responsible person excluded": (
        lambda s: setattr(s, "rp_takes_part", False),
        "harmed person's preferences exclude the responsible person",
    ),
    "supporter not invited": (
        lambda s: setattr(s, "invited", ()),
        "supporter sup-0001 is not invited by the harmed person",
    ),
}


@pytest.fixture(params=BREAKERS)
def broken(request) -> tuple[Setup, str]:
    """Each gate broken alone in turn: a Setup with every other gate met, and the words that
    name the broken gate."""
    breaker, expected = BREAKERS[request.param]
    setup = Setup()
    breaker(setup)
    return setup, expected


def test_all_gates_met_schedule_then_start_works(case):
    setup = Setup()
    setup.build(case)
    [scheduled] = case.do(case.fac, WithGates(schedule_cmd(case), setup.view()))
    assert isinstance(scheduled, SessionScheduled)
    case.later(days=1)
    [started] = case.do(case.fac, WithGates(StartSession(session_id="sess-0001"), setup.view()))
    assert isinstance(started, SessionStarted)


def test_each_gate_alone_refuses_scheduling(case, broken):
    setup, expected = broken
    setup.build(case)
    with pytest.raises(GatesUnmet) as refused:
        case.do(case.fac, WithGates(schedule_cmd(case), setup.view()))
    assert len(refused.value.gates) == 1, refused.value.gates
    assert refused.value.gates[0].startswith(expected)
    assert expected in refused.value.to_dict()["reason"]
    assert "sess-0001" not in case.state.sessions


def test_each_gate_alone_refuses_starting(case, broken):
    setup, expected = broken
    setup.build(case, with_session=True)
    case.later(days=1)
    with pytest.raises(GatesUnmet) as refused:
        case.do(case.fac, WithGates(StartSession(session_id="sess-0001"), setup.view()))
    assert len(refused.value.gates) == 1, refused.value.gates
    assert refused.value.gates[0].startswith(expected)
    assert case.state.sessions["sess-0001"].status == "scheduled"


def test_every_unmet_gate_is_named_at_once(case):
    Setup(prepared=(), paused=True).build(case)
    with pytest.raises(GatesUnmet) as refused:
        case.do(case.fac, WithGates(schedule_cmd(case), GateView()))
    gates = refused.value.gates
    for expected in (
        "case is paused",
        "harmed person's consent does not cover face_to_face",
        "responsible person's acknowledgement does not stand",
        "no current risk assessment permits face_to_face",
        "chosen facilitator is not qualified (not in the practitioner registry)",
        "survivor specialist missing from team",
        "preparation not done with harmed person",
        "preparation not done with responsible person",
    ):
        assert expected in gates
    assert refused.value.to_dict()["gates"] == gates


# --- evaluate_gates directly: who takes part in which form -----------------------------------


def _request(case, form: ContactForm, people, team=(SURV, HSB)) -> SessionRequest:
    return SessionRequest("sess-0001", form, people, FAC, team, case.now + timedelta(days=1))


def test_story_telling_needs_nothing_from_the_responsible_person(case):
    setup = Setup(acknowledged=frozenset(), consented={HP: ALL})
    setup.build(case)
    hp_only = (PEOPLE[0],)
    request = _request(case, ContactForm.STORY_TELLING, hp_only, team=(SURV,))
    assert evaluate_gates(case.state, setup.view(), request, case.now) == []


def test_story_telling_never_includes_the_responsible_person(case):
    setup = Setup()
    setup.build(case)
    request = _request(case, ContactForm.STORY_TELLING, PEOPLE)
    assert evaluate_gates(case.state, setup.view(), request, case.now) == [
        "story_telling does not involve the responsible person"
    ]


def test_family_circle_may_go_ahead_without_the_responsible_person(case):
    setup = Setup(acknowledged=frozenset(), consented={HP: ALL, SUP: ALL})
    setup.build(case)
    request = _request(case, ContactForm.FAMILY_CIRCLE, (PEOPLE[0], SUPPORTER), team=(SURV,))
    assert evaluate_gates(case.state, setup.view(), request, case.now) == []


def test_face_to_face_needs_the_responsible_person(case):
    setup = Setup()
    setup.build(case)
    request = _request(case, F2F, (PEOPLE[0],))
    assert evaluate_gates(case.state, setup.view(), request, case.now) == [
        "face_to_face needs the responsible person among the participants"
    ]


def test_letters_need_no_specialists_in_the_room(case):
    setup = Setup()
    setup.build(case)
    request = _request(case, ContactForm.LETTER, PEOPLE, team=())
    assert evaluate_gates(case.state, setup.view(), request, case.now) == []


def test_one_person_cannot_be_both_specialists(case):
    setup = Setup()
    both = (Specialism.SURVIVOR_SPECIALIST, Specialism.HSB_SPECIALIST)
    _lapsed(setup, SURV, specialisms=frozenset(both))
    setup.build(case)
    request = _request(case, F2F, PEOPLE, team=(SURV,))
    assert evaluate_gates(case.state, setup.view(), request, case.now) == [
        "harmful sexual behaviour specialist missing from team"
    ]


def test_the_facilitator_does_not_count_as_a_specialist(case):
    setup = Setup()
    _lapsed(setup, FAC, specialisms=frozenset({Specialism.SURVIVOR_SPECIALIST}))
    setup.build(case)
    request = _request(case, F2F, PEOPLE, team=(FAC, HSB))
    assert evaluate_gates(case.state, setup.view(), request, case.now) == [
        "survivor specialist missing from team"
    ]


def test_a_level_one_practitioner_does_not_facilitate(case):
    setup = Setup()
    _lapsed(setup, FAC, level=1)
    setup.build(case)
    gates = evaluate_gates(case.state, setup.view(), _request(case, F2F, PEOPLE), case.now)
    assert gates == ["chosen facilitator is not qualified (level 1 is below the required 2)"]


def test_no_facilitator_chosen_yet(case):
    setup = Setup()
    setup.build(case)
    state = replace(case.state, facilitator_id=None)
    gates = evaluate_gates(state, setup.view(), _request(case, F2F, PEOPLE), case.now)
    assert gates == ["harmed person has not chosen a facilitator"]


def test_gap_is_kept_from_sessions_already_scheduled(case):
    setup = Setup()
    setup.build(case, with_session=True)  # sess-0001 tomorrow
    too_close = SessionRequest(
        "sess-0002", F2F, PEOPLE, FAC, (SURV, HSB), case.now + timedelta(days=8)
    )
    assert evaluate_gates(case.state, setup.view(), too_close, case.now) == [
        "minimum gap of 14 days not respected: session sess-0001 is scheduled for "
        "2026-11-03 09:00 UTC"
    ]
    far_enough = replace(too_close, scheduled_for=case.now + timedelta(days=15))
    assert evaluate_gates(case.state, setup.view(), far_enough, case.now) == []


def test_gap_counts_from_a_halted_session_that_had_started_but_not_one_that_never_did(case):
    setup = Setup()
    setup.build(case)
    for sid, started in (("sess-0008", False), ("sess-0009", True)):
        case.record(SessionScheduled(**schedule_cmd(case, sid).model_dump(), speaks_first=HP))
        if started:
            case.record(SessionStarted(session_id=sid))
        case.record(SessionHalted(
            session_id=sid, halted_by_id=HP, halted_by_role=Role.HARMED_PERSON,
            cause=HaltCause.PARTICIPANT_HALT,
        ))  # fmt: skip
    gates = evaluate_gates(case.state, setup.view(), _request(case, F2F, PEOPLE), case.now)
    assert gates == [
        "minimum gap of 14 days since last session not respected (next allowed "
        "2026-11-16 09:00 UTC)"
    ]


# --- a due reassessment: the assessment is no longer current (R4, DOMAIN.md stage 6) ---------


def test_a_reassessment_due_refuses_every_form_the_assessment_permitted(case):
    setup = Setup(reassessments_due=(_due("risk_flag_raised", hours=-2),))
    setup.build(case)
    for form in (F2F, ContactForm.LETTER):
        request = SessionRequest(
            "sess-0001", form, PEOPLE, FAC, (SURV, HSB), case.now + timedelta(days=1)
        )
        gates = [
            g for g in evaluate_gates(case.state, setup.view(), request, case.now) if "risk" in g
        ]
        assert gates == [
            f"no current risk assessment permits {form} (a reassessment is due since "
            "2026-11-02 07:00 UTC: risk flag raised)"
        ]


def test_a_reassessment_falling_due_after_now_does_not_close_the_gate_yet(case):
    # Decided as of the command's `now`: scheduled before it fell due, refused to start after.
    setup = Setup(reassessments_due=(_due("session_halted_for_safety", hours=12),))
    setup.build(case)
    [scheduled] = case.do(case.fac, WithGates(schedule_cmd(case), setup.view()))
    assert isinstance(scheduled, SessionScheduled)
    case.later(days=1)
    with pytest.raises(GatesUnmet) as refused:
        case.do(case.fac, WithGates(StartSession(session_id="sess-0001"), setup.view()))
    assert refused.value.gates == [
        "no current risk assessment permits face_to_face (a reassessment is due since "
        "2026-11-02 21:00 UTC: session halted for safety)"
    ]
    assert case.state.sessions["sess-0001"].status == "scheduled"


def test_without_a_permitting_assessment_the_risk_gate_is_named_once(case):
    setup = Setup(risk_permits=frozenset(), reassessments_due=(_due("case_stage_changed"),))
    setup.build(case)
    with pytest.raises(GatesUnmet) as refused:
        case.do(case.fac, WithGates(schedule_cmd(case), setup.view()))
    assert refused.value.gates == ["no current risk assessment permits face_to_face"]


def test_the_earliest_reassessment_fallen_due_is_the_one_named():
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    later, earlier = _due("consent_regranted", hours=-1), _due("case_stage_changed", days=-3)
    future = _due("risk_flag_raised", hours=1)
    assert reassessment_overdue((later, future, earlier), now) == earlier
    assert reassessment_overdue((future,), now) is None
    assert reassessment_overdue((), now) is None
    assert reassessment_overdue((_due("case_stage_changed"),), now) is not None  # due at now


# --- gate_report: the same checks, grouped by gate (the case page's met/unmet list) ----------


def test_the_gate_report_names_the_same_unmet_gates_as_the_decision(case, broken):
    setup, expected = broken
    setup.build(case, with_session=True)
    request = SessionRequest.starting_now(case.state.sessions["sess-0001"])
    report = gate_report(case.state, setup.view(), request, case.now)
    assert [n for n, _, _ in report] == [n for n, _ in GATE_NAMES]
    unmet = [why for _, _, reasons in report for why in reasons]
    assert unmet == evaluate_gates(case.state, setup.view(), request, case.now)
    assert len(unmet) == 1 and unmet[0].startswith(expected)
    assert sum(1 for _, _, reasons in report if not reasons) == len(GATE_NAMES) - 1


def test_with_every_gate_met_the_report_says_so(case):
    setup = Setup()
    setup.build(case, with_session=True)
    request = SessionRequest.starting_now(case.state.sessions["sess-0001"])
    assert all(not why for _, _, why in gate_report(case.state, setup.view(), request, case.now))


# --- the agency's floor on the gap (rule packs: sessions.min_gap_days_floor) ------------------


def _under(setup: Setup, ref: str) -> GateView:
    from mend_events import rules

    pack = rules.parse_ref(ref)
    floor = pack.sessions.min_gap_days_floor
    return replace(setup.view(), rule_pack=pack.ref, min_gap_days_floor=floor, team=pack.team)


def test_the_pack_s_floor_lengthens_a_shorter_gap_and_the_reason_names_the_pack(case):
    # She asked for 3 days; england-wales@2 keeps 14 between contact sessions whatever the case.
    setup = Setup(min_gap_days=3)
    setup.build(case)
    _past_session(case, case.now - timedelta(days=5))
    request = _request(case, F2F, PEOPLE)  # 6 days after the last one ended
    assert evaluate_gates(case.state, _under(setup, "england-wales@1"), request, case.now) == []
    [reason] = evaluate_gates(case.state, _under(setup, "england-wales@2"), request, case.now)
    assert reason.startswith(
        "minimum gap of 14 days (the agency's floor under rule pack england-wales@2) since last "
        "session not respected"
    )
    [(_, _, unmet)] = [g for g in gate_report(
        case.state, _under(setup, "england-wales@2"), request, case.now
    ) if g[0] == "gap"]  # fmt: skip
    assert unmet == [reason]
    later = replace(request, scheduled_for=case.now + timedelta(days=9))  # 14 days since
    assert evaluate_gates(case.state, _under(setup, "england-wales@2"), later, case.now) == []


def test_a_longer_gap_of_her_own_stands_and_is_hers(case):
    # Scotland's floor is 7 days: her 14 are longer, so they decide, named as before.
    setup = Setup(min_gap_days=14)
    setup.build(case, with_session=True)  # sess-0001 tomorrow
    too_close = SessionRequest(
        "sess-0002", F2F, PEOPLE, FAC, (SURV, HSB), case.now + timedelta(days=8)
    )
    assert evaluate_gates(case.state, _under(setup, "scotland@1"), too_close, case.now) == [
        "minimum gap of 14 days not respected: session sess-0001 is scheduled for "
        "2026-11-03 09:00 UTC"
    ]


def test_a_session_scheduled_and_started_records_the_pack_its_gates_were_evaluated_under(case):
    setup = Setup()
    setup.build(case)
    view = _under(setup, "scotland@1")
    [scheduled] = case.do(case.fac, WithGates(schedule_cmd(case), view))
    assert isinstance(scheduled, SessionScheduled) and scheduled.rule_pack == "scotland@1"
    case.later(days=1)
    [started] = case.do(case.fac, WithGates(StartSession(session_id="sess-0001"), view))
    assert isinstance(started, SessionStarted) and started.rule_pack == "scotland@1"


def test_the_team_an_indirect_exchange_with_the_responsible_person_needs_is_the_pack_s(case):
    # England and Wales: a letter passes through the facilitator alone; Scotland v2: a harmful
    # sexual behaviour specialist is on the team of any contact with the responsible person.
    setup = Setup()
    setup.build(case)
    letter = _request(case, ContactForm.LETTER, PEOPLE, team=())
    assert evaluate_gates(case.state, _under(setup, "england-wales@1"), letter, case.now) == []
    assert evaluate_gates(case.state, _under(setup, "scotland@2"), letter, case.now) == [
        "harmful sexual behaviour specialist missing from team (for letter with the responsible "
        "person under rule pack scotland@2)"
    ]
    staffed = replace(letter, team=(HSB,))
    assert evaluate_gates(case.state, _under(setup, "scotland@2"), staffed, case.now) == []
    alone = _request(case, ContactForm.UNSENT_LETTER, PEOPLE[:1], team=())  # never with them
    assert evaluate_gates(case.state, _under(setup, "scotland@2"), alone, case.now) == []


def test_one_person_never_fills_two_roles_the_pack_requires(case):
    setup = Setup()
    setup.practitioners = {**setup.practitioners, ALT: _prac(ALT, 1, *Specialism)}
    setup.build(case)
    both = _request(case, F2F, PEOPLE, team=(ALT,))
    assert evaluate_gates(case.state, _under(setup, "scotland@2"), both, case.now) == [
        "harmful sexual behaviour specialist missing from team"
    ]
    assert evaluate_gates(case.state, _under(setup, "scotland@2"), replace(
        both, team=(ALT, SURV)
    ), case.now) == []  # fmt: skip
