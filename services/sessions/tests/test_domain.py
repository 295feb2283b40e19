"""The case process through decide: who may do what, halts, idempotency and reactions."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.contracts.catalog.sessions import PractitionerRegistered
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import registry
from mend_events.errors import Forbidden, NotFound, Rejected
from mend_sessions import commands as c
from mend_sessions.domain import WithGates, WithPractitioner
from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.practitioners import (
    Practitioner,
    legacy_decider,
    registry_decider,
    registry_stream,
)
from mend_sessions.domain.state import SessionStatus

ALL = frozenset(ContactForm)
F2F, LETTER, STORY = ContactForm.FACE_TO_FACE, ContactForm.LETTER, ContactForm.STORY_TELLING
FAC, SURV, HSB, ALT = "prac-0001", "prac-0002", "prac-0003", "prac-0004"
HP_P = ev.Participant(id="hp-0001", role=R.HARMED_PERSON)
RP_P = ev.Participant(id="rp-0001", role=R.RESPONSIBLE_PERSON)
QUALIFIED = Practitioner(FAC, True, True, 2)
VIEW = GateView(
    consented_forms={"hp-0001": ALL, "rp-0001": ALL},
    acknowledged=frozenset({"rp-0001"}),
    risk_permitted_forms=ALL,
    safety_plans=frozenset({"hp-0001"}),
    practitioners={
        FAC: QUALIFIED,
        ALT: Practitioner(ALT, True, True, 3),
        SURV: Practitioner(SURV, True, True, 1, frozenset({ev.Specialism.SURVIVOR_SPECIALIST})),
        HSB: Practitioner(HSB, True, True, 1, frozenset({ev.Specialism.HSB_SPECIALIST})),
    },
)
OPEN = c.OpenCase(
    harm_category=ev.HarmCategory.RAPE,
    justice_stage=ev.JusticeStage.NONE,
    route=ev.Route.SELF_REFERRAL,
)


def opened(case) -> None:
    case.do(case.hp, OPEN)


def ready(case, min_gap_days: int = 0) -> None:
    """An open case where the harmed person chose FAC, involves the responsible person, and both
    parties are prepared: every gate met with VIEW."""
    opened(case)
    case.do(case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC), QUALIFIED))
    prefs = c.SetPreferences(
        min_gap_days=min_gap_days, responsible_person_takes_part=True, invited=(RP_P.id,)
    )
    case.do(case.hp, prefs)
    case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON))
    for person in (HP_P, RP_P):
        case.do(case.fac, c.RecordPreparation(participant=person))


def schedule_cmd(case, sid="sess-0001", form=F2F, people=(HP_P, RP_P), days: float = 1):
    return c.ScheduleSession(
        session_id=sid,
        form=form,
        participants=people,
        facilitator_id=FAC,
        team=(SURV, HSB),
        scheduled_for=case.now + timedelta(days=days),
    )


def schedule(case, sid: str = "sess-0001", form=F2F, people=(HP_P, RP_P), days: float = 1):
    return case.do(case.fac, WithGates(schedule_cmd(case, sid, form, people, days), VIEW))


def start(case, sid: str = "sess-0001"):
    return case.do(case.fac, WithGates(c.StartSession(session_id=sid), VIEW))


def running(case) -> None:
    ready(case)
    schedule(case)
    case.later(days=1)
    start(case)


def status(case, sid: str = "sess-0001") -> SessionStatus:
    return case.state.sessions[sid].status


# --- opening (only the harmed person, or an agency on their request) -------------------------


def test_the_harmed_person_opens_their_case_and_a_retry_changes_nothing(case):
    [event] = case.do(case.hp, OPEN)
    assert event == ev.CaseOpened(
        harm_category=ev.HarmCategory.RAPE,
        justice_stage=ev.JusticeStage.NONE,
        agency="rj-hub",
        harmed_person_id="hp-0001",
        route=ev.Route.SELF_REFERRAL,
    )
    assert case.do(case.hp, OPEN) == []


def test_an_agency_opens_only_on_the_harmed_persons_request(case):
    on_request = OPEN.model_copy(
        update={"route": ev.Route.AGENCY_ON_REQUEST, "harmed_person_id": "hp-0001"}
    )
    [event] = case.do(case.coord, on_request)
    assert (event.harmed_person_id, event.route) == ("hp-0001", ev.Route.AGENCY_ON_REQUEST)


@pytest.mark.parametrize("route", list(ev.Route))
def test_the_responsible_person_cannot_open_a_case(case, route):
    cmd = OPEN.model_copy(update={"route": route, "harmed_person_id": "hp-0001"})
    with pytest.raises(Forbidden):
        case.do(case.rp, cmd)
    assert case.history == []


def test_an_agency_without_the_harmed_persons_request_is_refused(case):
    with pytest.raises(Rejected) as refused:
        case.do(case.fac, OPEN)
    assert refused.value.field == "route"


def test_nobody_opens_a_case_for_someone_else(case):
    with pytest.raises(Forbidden):
        case.do(case.hp, OPEN.model_copy(update={"harmed_person_id": "hp-0002"}))
    with pytest.raises(Forbidden):
        case.do(case.sup, OPEN)


def test_a_referral_by_anyone_else_is_only_an_invitation(case):
    invite = c.RecordInvitation(harmed_person_id="hp-0001")
    [event] = case.do(case.sup, invite)
    assert isinstance(event, ev.InvitationRecorded)
    assert case.do(case.fac, invite) == []
    assert case.state.status == "invited"
    with pytest.raises(Forbidden):
        case.do(case.rp, c.RecordInvitation(harmed_person_id="hp-0001"))
    case.do(case.hp, OPEN)  # the harmed person takes it up, when and if they wish
    assert case.state.status == "open"


def test_no_event_imposes_a_deadline_or_a_reminder():
    """R10: nothing in this service's vocabulary can press a participant."""
    ours = [
        registry.model(t) for t in registry.types() if registry.model(t).__module__ == ev.__name__
    ]
    # 15 of the case process, 8 letters, 3 notes, 3 referrals, 3 meetings, 6 materials
    assert len(ours) == 38
    for model in ours:
        for name in model.model_fields:
            assert not any(w in name for w in ("deadline", "remind", "expire", "escalat")), name


# --- the harmed person's choices -------------------------------------------------------------


def test_only_the_harmed_person_chooses_and_may_change_the_facilitator(case):
    opened(case)
    choose = WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC), QUALIFIED)
    for someone in (case.rp, case.fac, case.coord):
        with pytest.raises(Forbidden):
            case.do(someone, choose)
    assert case.do(case.hp, choose) == [ev.FacilitatorChosen(practitioner_id=FAC)]
    assert case.do(case.hp, choose) == []
    other = WithPractitioner(c.ChooseFacilitator(practitioner_id=ALT), VIEW.practitioners[ALT])
    assert case.do(case.hp, other) == [ev.FacilitatorChosen(practitioner_id=ALT)]


@pytest.mark.parametrize(
    "record, reason",
    [
        (None, "not in the practitioner registry"),
        (Practitioner(FAC, True, False, 3), "not trained in sexual-harm casework"),
        (Practitioner(FAC, False, True, 3), "not trained in restorative justice"),
        (Practitioner(FAC, True, True, 1), "level 1 is below the required 2"),
    ],
)
def test_only_a_qualified_practitioner_can_be_chosen(case, record, reason):
    opened(case)
    with pytest.raises(Rejected) as refused:
        case.do(case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC), record))
    assert refused.value.field == "practitioner_id"
    assert FAC not in refused.value.reason  # never echo the client's value
    assert reason in refused.value.reason


def test_only_the_harmed_person_sets_preferences_and_speaking_order(case):
    opened(case)
    speak_first = c.SetPreferences(speaks_first="rp-0001", responsible_person_takes_part=True)
    for someone in (case.rp, case.fac):
        with pytest.raises(Forbidden):
            case.do(someone, speak_first)
    [event] = case.do(case.hp, speak_first)
    assert event.speaks_first == "rp-0001"
    assert case.do(case.hp, speak_first) == []


def test_the_session_takes_its_speaking_order_from_the_harmed_person(case):
    ready(case)
    [scheduled] = schedule(case)
    assert scheduled.speaks_first == "hp-0001"  # by default, the harmed person speaks first
    case.do(case.hp, c.SetPreferences(speaks_first="rp-0001", responsible_person_takes_part=True))
    [again] = schedule(case, "sess-0002", days=2)
    assert again.speaks_first == "rp-0001"


def test_pause_and_resume_at_the_harmed_persons_word(case):
    ready(case)
    assert case.do(case.hp, c.PauseCase()) == [
        ev.CasePaused(reason=ev.PauseReason.HARMED_PERSON_REQUEST)
    ]
    assert case.do(case.hp, c.PauseCase()) == []
    with pytest.raises(Forbidden):
        case.do(case.fac, c.ResumeCase())  # not the practitioner's pause to lift
    with pytest.raises(Forbidden):
        case.do(case.rp, c.PauseCase())
    with pytest.raises(Rejected):
        case.do(case.fac, c.RecordPreparation(participant=HP_P))
    assert case.do(case.hp, c.ResumeCase()) == [ev.CaseResumed()]
    assert case.do(case.hp, c.ResumeCase()) == []


def test_a_practitioner_pauses_only_for_other_legal_proceedings(case):
    opened(case)
    with pytest.raises(Forbidden):
        case.do(case.fac, c.PauseCase())
    legal = c.PauseCase(reason=ev.PauseReason.OTHER_LEGAL_PROCEEDINGS)
    assert len(case.do(case.fac, legal)) == 1
    assert case.do(case.fac, c.ResumeCase()) == [ev.CaseResumed()]


def test_preparation_with_the_responsible_person_only_once_the_harmed_person_involves_them(case):
    opened(case)
    with pytest.raises(Rejected) as refused:
        case.do(case.fac, c.RecordPreparation(participant=RP_P))
    assert refused.value.field == "participant"
    with pytest.raises(Forbidden):
        case.do(case.hp, c.RecordPreparation(participant=HP_P))


def test_the_responsible_person_cannot_join_under_another_role(case):
    ready(case)
    disguised = ev.Participant(id="rp-0001", role=R.SUPPORTER)
    with pytest.raises(Rejected):
        case.do(case.fac, c.RecordPreparation(participant=disguised))
    with pytest.raises(Rejected):
        schedule(case, form=STORY, people=(HP_P, disguised))


# --- scheduling and starting -----------------------------------------------------------------


def test_schedule_rules(case):
    ready(case)
    with pytest.raises(Forbidden):
        case.do(case.rp, WithGates(schedule_cmd(case), VIEW))
    with pytest.raises(Rejected) as past:
        schedule(case, days=-1)
    assert past.value.field == "scheduled_for"
    with pytest.raises(Rejected) as no_hp:
        schedule(case, form=LETTER, people=(RP_P,))
    assert no_hp.value.field == "participants"
    assert len(schedule(case)) == 1
    assert schedule(case) == []  # a retry of the same request
    with pytest.raises(Rejected):
        schedule(case, form=LETTER)  # same id, another session


def test_a_bare_schedule_without_its_gate_facts_is_a_wiring_error(case):
    ready(case)
    with pytest.raises(TypeError):
        case.do(case.fac, c.StartSession(session_id="sess-0001"))


def test_only_the_sessions_facilitator_starts_and_completes_it(case):
    ready(case)
    schedule(case)
    for someone in (case.rp, case.hp, case.other_prac):
        with pytest.raises(Forbidden):
            case.do(someone, WithGates(c.StartSession(session_id="sess-0001"), VIEW))
    with pytest.raises(Rejected):
        case.do(case.fac, c.CompleteSession(session_id="sess-0001"))  # not started yet
    assert len(start(case)) == 1
    assert start(case) == []
    with pytest.raises(Forbidden):
        case.do(case.other_prac, c.CompleteSession(session_id="sess-0001"))
    assert case.do(case.fac, c.CompleteSession(session_id="sess-0001")) == [
        ev.SessionCompleted(session_id="sess-0001")
    ]
    assert case.do(case.fac, c.CompleteSession(session_id="sess-0001")) == []
    with pytest.raises(Rejected):
        start(case)


def test_changing_facilitator_between_schedule_and_start_closes_the_gate(case):
    ready(case)
    schedule(case)
    alt = WithPractitioner(c.ChooseFacilitator(practitioner_id=ALT), VIEW.practitioners[ALT])
    case.do(case.hp, alt)
    with pytest.raises(Rejected) as refused:
        start(case)
    assert refused.value.gates == ["facilitator prac-0001 is not the one the harmed person chose"]


# --- halting (R3) ----------------------------------------------------------------------------


@pytest.mark.parametrize("who, role, cause", [
    ("hp", Role.HARMED_PERSON, ev.HaltCause.PARTICIPANT_HALT),
    ("rp", Role.RESPONSIBLE_PERSON, ev.HaltCause.PARTICIPANT_HALT),
    ("fac", Role.PRACTITIONER, ev.HaltCause.PRACTITIONER_HALT),
    ("other_prac", Role.PRACTITIONER, ev.HaltCause.PRACTITIONER_HALT),
])  # fmt: skip
def test_any_participant_or_practitioner_halts_a_running_session_without_reason(
    case, who, role, cause
):
    running(case)
    actor = getattr(case, who)
    [halted] = case.do(actor, c.HaltSession(session_id="sess-0001"))
    assert halted == ev.SessionHalted(
        session_id="sess-0001", halted_by_id=actor.id, halted_by_role=role, cause=cause
    )
    assert status(case) == SessionStatus.HALTED


@pytest.mark.parametrize("who", ["sup", "coord", "auditor", "system"])
def test_nobody_outside_the_session_halts_it(case, who):
    running(case)
    with pytest.raises(Forbidden):
        case.do(getattr(case, who), c.HaltSession(session_id="sess-0001"))


def test_halting_is_idempotent_and_a_halted_session_never_resumes(case):
    running(case)
    halt = c.HaltSession(session_id="sess-0001")
    assert len(case.do(case.hp, halt)) == 1
    assert case.do(case.rp, halt) == []
    with pytest.raises(Rejected) as refused:
        start(case)
    assert refused.value.field == "session_id" and "schedule" in refused.value.reason
    with pytest.raises(Rejected):
        schedule(case)  # the old id stays halted for ever
    assert len(schedule(case, "sess-0002")) == 1  # anew, through every gate


def test_halting_a_completed_session_changes_nothing_and_an_unknown_one_is_not_found(case):
    running(case)
    case.do(case.fac, c.CompleteSession(session_id="sess-0001"))
    assert case.do(case.hp, c.HaltSession(session_id="sess-0001")) == []
    with pytest.raises(NotFound):
        case.do(case.hp, c.HaltSession(session_id="sess-0404"))


def test_a_scheduled_session_can_be_halted_before_it_starts(case):
    ready(case)
    schedule(case)
    assert len(case.do(case.rp, c.HaltSession(session_id="sess-0001"))) == 1
    assert status(case) == SessionStatus.HALTED


# --- reactions (R2, R5) ----------------------------------------------------------------------


def three_sessions(case) -> None:
    """sess-0001 running (face to face), sess-0002 scheduled letter, sess-0003 story-telling."""
    running(case)
    schedule(case, "sess-0002", form=LETTER, days=3)
    schedule(case, "sess-0003", form=STORY, people=(HP_P,), days=5)


def test_a_withdrawal_halts_every_session_depending_on_it_naming_the_cause(case):
    three_sessions(case)
    withdrawal = uuid4()
    cmd = c.HaltSessionsDependingOnConsent(participant_id="rp-0001", cause_event_id=withdrawal)
    halts = case.do(case.system, cmd)
    assert [h.session_id for h in halts] == ["sess-0001", "sess-0002"]
    for h in halts:
        assert (h.cause, h.cause_event_id) == (ev.HaltCause.CONSENT_WITHDRAWN, withdrawal)
        assert (h.halted_by_id, h.halted_by_role) == (None, Role.SYSTEM)
    assert status(case, "sess-0003") == SessionStatus.SCHEDULED
    assert case.do(case.system, cmd) == []  # delivered twice, halts once


def test_a_withdrawal_of_one_form_halts_only_that_form(case):
    three_sessions(case)
    cmd = c.HaltSessionsDependingOnConsent(
        participant_id="rp-0001", forms=(LETTER,), cause_event_id=uuid4()
    )
    assert [h.session_id for h in case.do(case.system, cmd)] == ["sess-0002"]
    assert status(case) == SessionStatus.RUNNING


def test_the_harmed_person_withdrawing_halts_everything(case):
    three_sessions(case)
    cmd = c.HaltSessionsDependingOnConsent(participant_id="hp-0001", cause_event_id=uuid4())
    assert len(case.do(case.system, cmd)) == 3


def test_a_redelivered_withdrawal_does_not_halt_a_session_scheduled_since(case):
    running(case)
    withdrawal = uuid4()
    cmd = c.HaltSessionsDependingOnConsent(participant_id="rp-0001", cause_event_id=withdrawal)
    case.do(case.system, cmd)
    schedule(case, "sess-0002")  # consent given again, a new session arranged
    assert case.do(case.system, cmd) == []
    assert status(case, "sess-0002") == SessionStatus.SCHEDULED


def test_a_severe_flag_halts_all_contact_and_a_risk_decision_only_its_forms(case):
    three_sessions(case)
    decision = uuid4()
    only_letters = c.HaltSessionsForRisk(
        cause_event_id=decision, forms=(LETTER,), cause=ev.HaltCause.RISK_DECISION
    )
    [halt] = case.do(case.system, only_letters)
    assert (halt.session_id, halt.cause, halt.cause_event_id) == (
        "sess-0002",
        ev.HaltCause.RISK_DECISION,
        decision,
    )
    flag = uuid4()
    halts = case.do(case.system, c.HaltSessionsForRisk(cause_event_id=flag))
    assert [(h.session_id, h.cause, h.cause_event_id) for h in halts] == [
        ("sess-0001", ev.HaltCause.RISK_FLAG, flag),
        ("sess-0003", ev.HaltCause.RISK_FLAG, flag),
    ]
    assert case.do(case.system, c.HaltSessionsForRisk(cause_event_id=flag)) == []


def test_a_risk_decision_can_name_the_sessions_it_no_longer_permits(case):
    three_sessions(case)
    decision = uuid4()
    cmd = c.HaltSessionsForRisk(
        cause_event_id=decision, session_ids=("sess-0003",), cause=ev.HaltCause.RISK_DECISION
    )
    [halt] = case.do(case.system, cmd)
    assert (halt.session_id, halt.cause_event_id) == ("sess-0003", decision)
    assert status(case) == SessionStatus.RUNNING


def test_a_lapse_halts_with_its_own_cause(case):
    running(case)
    lapse = uuid4()
    cmd = c.HaltSessionsDependingOnConsent(
        participant_id="hp-0001", cause_event_id=lapse, cause=ev.HaltCause.CONSENT_LAPSED
    )
    [halt] = case.do(case.system, cmd)
    assert (halt.cause, halt.cause_event_id) == (ev.HaltCause.CONSENT_LAPSED, lapse)


def test_reactions_come_only_from_the_service_and_never_fail_on_an_unknown_case(case):
    cmd = c.HaltSessionsForRisk(cause_event_id=uuid4())
    assert case.do(case.system, cmd) == []
    with pytest.raises(Forbidden):
        case.do(case.fac, cmd)


def test_reaction_causes_are_validated():
    with pytest.raises(ValueError):
        c.HaltSessionsForRisk(cause_event_id=uuid4(), cause=ev.HaltCause.CONSENT_WITHDRAWN)
    with pytest.raises(ValueError):
        c.HaltSessionsDependingOnConsent(
            participant_id="rp-0001", cause_event_id=uuid4(), cause=ev.HaltCause.RISK_FLAG
        )


# --- agreement and closing -------------------------------------------------------------------


def agreement(consented_by=("hp-0001", "rp-0001"), owner="rp-0001") -> c.RecordAgreement:
    item = ev.AgreementItem(owner_id=owner, commitment=ev.AgreedCommitment.THERAPEUTIC_TREATMENT)
    return c.RecordAgreement(session_id="sess-0001", items=(item,), consented_by=consented_by)


def test_an_agreement_needs_every_party_present(case):
    running(case)
    with pytest.raises(Rejected) as missing:
        case.do(case.fac, agreement(consented_by=("hp-0001",)))
    assert missing.value.field == "consented_by" and "rp-0001" in missing.value.reason
    with pytest.raises(Rejected):
        case.do(case.fac, agreement(owner="sup-0001"))
    with pytest.raises(Forbidden):
        case.do(case.rp, agreement())
    [reached] = case.do(case.fac, agreement())
    assert reached.consented_by == ("hp-0001", "rp-0001")
    assert case.do(case.fac, agreement()) == []


def test_closing_halts_what_is_left_and_ends_the_case(case):
    ready(case)
    schedule(case)
    with pytest.raises(Forbidden):
        case.do(case.rp, c.CloseCase(reason=ev.CloseReason.HARMED_PERSON_DECISION))
    with pytest.raises(Forbidden):
        case.do(case.fac, c.CloseCase(reason=ev.CloseReason.HARMED_PERSON_READY))
    halt, closed = case.do(case.hp, c.CloseCase(reason=ev.CloseReason.HARMED_PERSON_READY))
    assert (halt.session_id, halt.cause) == ("sess-0001", ev.HaltCause.PARTICIPANT_HALT)
    assert closed == ev.CaseClosed(reason=ev.CloseReason.HARMED_PERSON_READY)
    assert case.do(case.hp, c.CloseCase(reason=ev.CloseReason.HARMED_PERSON_READY)) == []
    with pytest.raises(Rejected):
        case.do(case.hp, c.PauseCase())


def test_a_practitioner_closes_only_as_not_suitable_or_too_risky(case):
    opened(case)
    [closed] = case.do(case.fac, c.CloseCase(reason=ev.CloseReason.NOT_SUITABLE))
    assert closed.reason == ev.CloseReason.NOT_SUITABLE


# --- the practitioner registry ---------------------------------------------------------------


def test_coordinators_register_practitioners_and_the_latest_record_wins(case):
    state = registry_decider.initial(registry_stream(case.coord.agency))
    cmd = c.RegisterPractitioner(
        practitioner_id=FAC, rj_trained=True, sexual_harm_trained=True, level=2
    )
    with pytest.raises(Forbidden):
        _register(case, state, case.fac, cmd)
    state, events = _register(case, state, case.coord, cmd)
    assert len(events) == 1 and state.practitioners[FAC] == QUALIFIED
    assert _register(case, state, case.coord, cmd)[1] == []
    lapsed = cmd.model_copy(update={"sexual_harm_trained": False})
    state, _ = _register(case, state, case.coord, lapsed)
    assert not state.practitioners[FAC].may_facilitate


def test_only_the_agencys_own_coordinators_change_its_registry(case):
    """A coordinator of another agency can never write into this agency's registry stream."""
    state = registry_decider.initial(registry_stream(case.coord.agency))
    cmd = c.RegisterPractitioner(
        practitioner_id=FAC, rj_trained=True, sexual_harm_trained=True, level=2
    )
    state, _ = _register(case, state, case.coord, cmd)
    stranger = case.coord.model_copy(update={"id": "coord-other1", "agency": "agency-b"})
    demoted = cmd.model_copy(update={"level": 1, "sexual_harm_trained": False})
    with pytest.raises(Forbidden):
        _register(case, state, stranger, demoted)
    assert state.practitioners[FAC] == QUALIFIED
    # The old single stream had no owner: nothing is ever decided on it again.
    with pytest.raises(Forbidden):
        _register(case, registry_decider.initial("registry"), case.coord, cmd)


def test_each_legacy_registry_entry_belongs_to_the_registering_coordinators_agency(case):
    """Events of the old single `registry` stream: another agency's overwrite of a
    practitioner id is that agency's entry, and this agency's record stands."""
    qualified = PractitionerRegistered(
        practitioner_id=FAC, rj_trained=True, sexual_harm_trained=True, level=2
    )
    overwrite = qualified.model_copy(update={"level": 1, "sexual_harm_trained": False})
    b = case.coord.model_copy(update={"id": "coord-other1", "agency": "agency-b"})
    history = [
        (qualified, Metadata(case.coord.id, case.coord.role, case.coord.agency, uuid4(), None,
                             case.now)),
        (overwrite, Metadata(b.id, b.role, b.agency, uuid4(), None, case.now)),
    ]  # fmt: skip
    legacy = legacy_decider.fold("registry", history)
    mine = registry_decider.initial(registry_stream(case.coord.agency)).merged(
        legacy.get(case.coord.agency)
    )
    assert mine.practitioners[FAC] == QUALIFIED
    assert not legacy["agency-b"].practitioners[FAC].may_facilitate


def _register(case, state, actor, cmd):
    ctx = CommandContext(actor=actor, now=case.now, correlation_id=uuid4())
    events = registry_decider.decide(state, cmd, ctx)
    meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, ctx.now)
    for event in events:
        state = registry_decider.evolve(state, event, meta)
    return state, events


# --- properties ------------------------------------------------------------------------------

# Weighted towards schedule and start so that many examples have running sessions to stop.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["schedule", "schedule", "start", "start", "halt", "complete", "withdraw", "flag"]
        ),
        st.sampled_from(["sess-0001", "sess-0002"]),
        st.sampled_from(["hp", "rp", "fac", "sup"]),
        st.sampled_from([UUID(int=1), UUID(int=2), UUID(int=3)]),
    ),
    max_size=30,
)


def withdrawal(person: str, cause: UUID) -> c.HaltSessionsDependingOnConsent:
    return c.HaltSessionsDependingOnConsent(participant_id=person, cause_event_id=cause)


def _step(case, step) -> None:
    what, sid, who, cause = step
    commands = {
        "halt": lambda: case.do(getattr(case, who), c.HaltSession(session_id=sid)),
        "start": lambda: start(case, sid),
        "complete": lambda: case.do(case.fac, c.CompleteSession(session_id=sid)),
        "withdraw": lambda: case.do(case.system, withdrawal(getattr(case, who).id, cause)),
        "flag": lambda: case.do(case.system, c.HaltSessionsForRisk(cause_event_id=cause)),
        "schedule": lambda: schedule(case, sid),
    }
    try:
        commands[what]()
    except (Rejected, Forbidden, NotFound):
        pass  # refusals write nothing; the invariants below are about what was written


@settings(max_examples=75, deadline=None)
@given(steps=STEPS)
def test_halts_are_final_each_cause_halts_a_session_once_and_replay_agrees(make_case, steps):
    case = make_case()
    ready(case)
    for step in steps:
        _step(case, step)
    halted_at: dict[str, int] = {}
    seen: set[tuple[str, UUID]] = set()
    for n, (event, _meta) in enumerate(case.history):
        sid = getattr(event, "session_id", None)
        if isinstance(event, ev.SessionHalted):
            assert sid not in halted_at, "a session is halted at most once"
            halted_at[sid] = n
            if event.cause_event_id is not None:
                assert (sid, event.cause_event_id) not in seen
                seen.add((sid, event.cause_event_id))
        elif sid in halted_at and not isinstance(event, ev.AgreementReached):
            raise AssertionError(f"{event.event_type} after {sid} was halted")
    assert case.replayed() == case.state


# --- who takes part: only the case's own events make a participant (issue 14, item 2) --------

SUP_ID = "sup-0001"


def test_a_participant_is_enrolled_only_with_the_harmed_persons_agreement(case):
    opened(case)
    enrol_rp = c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON)
    enrol_sup = c.EnrolParticipant(person_id=SUP_ID, role=R.SUPPORTER)
    # Not invited: refused, whoever asks.
    for command in (enrol_rp, enrol_sup):
        with pytest.raises(Rejected) as refused:
            case.do(case.fac, command)
        assert refused.value.field == "person_id"
    # Invited, but the harmed person has not chosen to involve the responsible person.
    case.do(case.hp, c.SetPreferences(invited=(RP_P.id, SUP_ID)))
    with pytest.raises(Rejected) as refused:
        case.do(case.fac, enrol_rp)
    assert refused.value.field == "role"
    [event] = case.do(case.coord, enrol_sup)
    assert event == ev.ParticipantEnrolled(person_id=SUP_ID, role=R.SUPPORTER)
    case.do(
        case.hp, c.SetPreferences(invited=(RP_P.id, SUP_ID), responsible_person_takes_part=True)
    )
    case.do(case.fac, enrol_rp)
    assert case.state.members == {
        "hp-0001": R.HARMED_PERSON,
        RP_P.id: R.RESPONSIBLE_PERSON,
        SUP_ID: R.SUPPORTER,
    }
    assert case.do(case.fac, enrol_rp) == []  # a retry changes nothing
    assert case.replayed() == case.state


def test_nobody_else_enrols_and_nobody_changes_role_or_becomes_the_harmed_person(case):
    opened(case)
    case.do(case.hp, c.SetPreferences(invited=(RP_P.id,), responsible_person_takes_part=True))
    enrol_rp = c.EnrolParticipant(person_id=RP_P.id, role=R.RESPONSIBLE_PERSON)
    for actor in (case.hp, case.rp, case.sup, case.auditor):
        with pytest.raises(Forbidden):
            case.do(actor, enrol_rp)
    with pytest.raises(Rejected):
        case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.HARMED_PERSON))
    case.do(case.fac, enrol_rp)
    with pytest.raises(Rejected):
        case.do(case.fac, c.EnrolParticipant(person_id=RP_P.id, role=R.SUPPORTER))


def test_only_members_take_part_in_preparations_and_sessions(case):
    opened(case)
    case.do(case.hp, WithPractitioner(c.ChooseFacilitator(practitioner_id=FAC), QUALIFIED))
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True))
    # The responsible person is not enrolled: no preparation, no session with them.
    with pytest.raises(Rejected) as refused:
        case.do(case.fac, c.RecordPreparation(participant=RP_P))
    assert refused.value.field == "participant"
    with pytest.raises(Rejected) as refused:
        schedule(case, people=(HP_P, RP_P))
    assert refused.value.field == "participants"
