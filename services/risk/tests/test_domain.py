"""The risk domain: every rule and rejection, `permits` now and as of a past moment, staleness,
idempotent triggers, and properties over random histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events import rules
from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog import risk as ev
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent, registry
from mend_events.contracts.vocabulary import ContactForm
from mend_events.errors import Forbidden, Rejected
from mend_events.security.crypto import AgencyKeys, FieldSealer, InMemoryKeyStore
from mend_risk import commands as c
from mend_risk.domain import RiskPolicy, RiskState, decider, make_decider
from mend_risk.domain.forms import (
    ALWAYS_WITH_RESPONSIBLE_PERSON,
    MEETINGS,
    NEVER_WITH_RESPONSIBLE_PERSON,
)
from mend_risk.domain.queries import (
    open_assessment,
    permits,
    permitted_forms,
    reassessment_due,
    unresolved_flags,
    unresolved_severe_flags,
)
from pydantic import ValidationError

CASE = "case-9c1d2e4f"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PRACTITIONER = Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency="north-rj")
SYSTEM = Actor(id="svc-risk", role=Role.SYSTEM, agency="north-rj")
HARMED = Actor(id="hp-3f9a2c", role=Role.HARMED_PERSON, agency="north-rj")
COORDINATOR = Actor(id="coord-1a2b3c", role=Role.COORDINATOR, agency="north-rj")
SPECIALIST = "prac-5e5e5e"

F2F = ev.PermittedForm(form=ContactForm.FACE_TO_FACE, with_responsible_person=True)
LETTER = ev.PermittedForm(form=ContactForm.LETTER, with_responsible_person=True)
UNSENT = ev.PermittedForm(form=ContactForm.UNSENT_LETTER, with_responsible_person=False)
SHUTTLE = ev.PermittedForm(form=ContactForm.INDIRECT, with_responsible_person=True)
CONFERENCE_WITH = ev.PermittedForm(form=ContactForm.CONFERENCE, with_responsible_person=True)
CONFERENCE_WITHOUT = ev.PermittedForm(form=ContactForm.CONFERENCE, with_responsible_person=False)
STORY = ev.PermittedForm(form=ContactForm.STORY_TELLING, with_responsible_person=False)


class Case:
    """One case's stream in memory: decide, then evolve with each new event's metadata."""

    def __init__(self, the_decider: Decider[RiskState] = decider) -> None:
        self.decider = the_decider
        self.state = the_decider.initial(CASE)
        self.history: list[tuple[DomainEvent, Metadata]] = []

    def run(self, command: object, *, at: datetime = T0, actor: Actor = PRACTITIONER) -> list:
        ctx = CommandContext(actor=actor, now=at, correlation_id=uuid4())
        events = self.decider.decide(self.state, command, ctx)
        for event in events:
            meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, at)
            self.history.append((event, meta))
            self.state = self.decider.evolve(self.state, event, meta)
        return events

    def rejects(self, command: object, field: str, **kw: object) -> Rejected:
        before = self.state
        with pytest.raises(Rejected) as caught:
            self.run(command, **kw)
        assert caught.value.field == field
        assert self.state is before  # nothing written
        return caught.value


def factor(
    kind: ev.FactorKind, status: ev.FactorStatus = ev.FactorStatus.ABSENT, **kw: object
) -> ev.RiskFactor:
    if status is ev.FactorStatus.PRESENT:
        kw.setdefault("severity", ev.Severity.HIGH)
    return ev.RiskFactor(kind=kind, status=status, **kw)


def start(
    case: Case, stage: ev.AssessmentStage = ev.AssessmentStage.FULL, at: datetime = T0
) -> UUID:
    assessment_id = uuid4()
    case.run(c.StartRiskAssessment(assessment_id=assessment_id, stage=stage), at=at)
    return assessment_id


def record(case: Case, assessment_id: UUID, *factors: ev.RiskFactor, at: datetime = T0) -> None:
    for f in factors:
        case.run(c.RecordRiskFactor(assessment_id=assessment_id, factor=f), at=at)


def no_legal_restrictions(case: Case, assessment_id: UUID, at: datetime = T0) -> None:
    record(
        case,
        assessment_id,
        factor(ev.FactorKind.PROTECTIVE_ORDER),
        factor(ev.FactorKind.BAIL_OR_LICENCE_CONDITIONS),
        at=at,
    )


def completion(
    assessment_id: UUID,
    decision: ev.RiskDecision = ev.RiskDecision.PROCEED,
    forms: tuple[ev.PermittedForm, ...] = (F2F,),
    **kw: object,
) -> c.CompleteRiskAssessment:
    kw.setdefault("signed_off_by", SPECIALIST)
    kw.setdefault("reasons", (ev.DecisionReason.SUITABLE_WITH_SAFEGUARDS,))
    return c.CompleteRiskAssessment(
        assessment_id=assessment_id, decision=decision, permitted_forms=forms, **kw
    )


def assessed(case: Case, *forms: ev.PermittedForm, at: datetime = T0, **kw: object) -> UUID:
    """A full assessment with no legal restriction, completed at `at`."""
    assessment_id = start(case, at=at)
    no_legal_restrictions(case, assessment_id, at=at)
    case.run(completion(assessment_id, forms=forms or (F2F,), **kw), at=at)
    return assessment_id


# ------------------------------------------------------------------------------- assessments


def test_start_is_idempotent_and_one_assessment_is_open_at_a_time() -> None:
    case = Case()
    assessment_id = start(case)
    assert case.run(c.StartRiskAssessment(assessment_id=assessment_id, stage="full")) == []
    case.rejects(
        c.StartRiskAssessment(assessment_id=assessment_id, stage="initial"), "assessment_id"
    )
    case.rejects(c.StartRiskAssessment(assessment_id=uuid4(), stage="full"), "assessment_id")


def test_a_later_record_of_a_factor_replaces_the_earlier_and_a_repeat_emits_nothing() -> None:
    case = Case()
    assessment_id = start(case)
    record(case, assessment_id, factor(ev.FactorKind.SELF_HARM, ev.FactorStatus.UNKNOWN))
    again = c.RecordRiskFactor(
        assessment_id=assessment_id, factor=factor(ev.FactorKind.SELF_HARM, ev.FactorStatus.PRESENT)
    )
    assert len(case.run(again)) == 1
    assert case.run(again) == []
    (only,) = case.state.assessments[0].factors
    assert only.status is ev.FactorStatus.PRESENT


def test_a_factor_cannot_be_recorded_on_a_completed_or_unknown_assessment() -> None:
    case = Case()
    assessment_id = assessed(case)
    late = factor(ev.FactorKind.COERCIVE_CONTROL, ev.FactorStatus.PRESENT)
    err = case.rejects(
        c.RecordRiskFactor(assessment_id=assessment_id, factor=late), "assessment_id"
    )
    assert "start a new assessment" in err.reason
    case.rejects(c.RecordRiskFactor(assessment_id=uuid4(), factor=late), "assessment_id")


def test_completing_without_sign_off_is_rejected() -> None:
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    err = case.rejects(completion(assessment_id, signed_off_by=None), "signed_off_by")
    assert "sign" in err.reason


def test_an_assessment_is_completed_once() -> None:
    case = Case()
    assessment_id = assessed(case)
    case.rejects(completion(assessment_id), "assessment_id")


@pytest.mark.parametrize(
    ("restriction", "forms"),
    [
        (factor(ev.FactorKind.PROTECTIVE_ORDER, ev.FactorStatus.PRESENT, carve_out=False), (F2F,)),
        (
            factor(ev.FactorKind.PROTECTIVE_ORDER, ev.FactorStatus.PRESENT, carve_out=False),
            (LETTER,),
        ),
        (
            factor(ev.FactorKind.PROTECTIVE_ORDER, ev.FactorStatus.PRESENT, carve_out=False),
            (CONFERENCE_WITH,),
        ),
        (factor(ev.FactorKind.PROTECTIVE_ORDER, ev.FactorStatus.UNKNOWN), (SHUTTLE,)),
        (
            factor(
                ev.FactorKind.BAIL_OR_LICENCE_CONDITIONS, ev.FactorStatus.PRESENT, carve_out=False
            ),
            (F2F,),
        ),
        (None, (F2F,)),  # no legal check recorded at all
    ],
)
def test_a_legal_restriction_rules_out_contact_with_the_responsible_person(
    restriction: ev.RiskFactor | None, forms: tuple[ev.PermittedForm, ...]
) -> None:
    case = Case()
    assessment_id = start(case)
    if restriction is not None:
        no_legal_restrictions(case, assessment_id)
        record(case, assessment_id, restriction)
    err = case.rejects(completion(assessment_id, forms=forms), "permitted_forms")
    assert "responsible person is ruled out" in err.reason


def under_a_protective_order(*, carve_out: bool) -> tuple[Case, UUID]:
    """A case whose only legal restriction is a protective order (with or without a carve-out
    for restorative contact)."""
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    order = factor(ev.FactorKind.PROTECTIVE_ORDER, ev.FactorStatus.PRESENT, carve_out=carve_out)
    record(case, assessment_id, order)
    return case, assessment_id


def test_under_a_protective_order_forms_without_the_responsible_person_remain() -> None:
    case, assessment_id = under_a_protective_order(carve_out=False)
    assert case.run(completion(assessment_id, forms=(CONFERENCE_WITHOUT, STORY, UNSENT)))


def test_a_carve_out_permits_contact_despite_a_protective_order() -> None:
    case, assessment_id = under_a_protective_order(carve_out=True)
    assert case.run(completion(assessment_id, forms=(F2F,)))
    assert permits(case.state, ContactForm.FACE_TO_FACE, T0)


@pytest.mark.parametrize(
    ("decision", "forms", "words"),
    [
        (ev.RiskDecision.INDIRECT_ONLY, (F2F,), "indirect-only"),
        (ev.RiskDecision.INDIRECT_ONLY, (LETTER, CONFERENCE_WITH), "indirect-only"),
        (ev.RiskDecision.UNSENT_LETTER_ONLY, (UNSENT, STORY), "unsent"),
        (ev.RiskDecision.UNSENT_LETTER_ONLY, (LETTER,), "unsent"),
        (ev.RiskDecision.UNSENT_LETTER_ONLY, (STORY,), "unsent"),
        (ev.RiskDecision.UNSENT_LETTER_ONLY, (), "unsent"),
        (ev.RiskDecision.DO_NOT_PROCEED, (STORY,), "not to proceed"),
        (ev.RiskDecision.PROCEED, (), "names the forms"),
    ],
)
def test_a_decision_permits_only_forms_consistent_with_it(
    decision: ev.RiskDecision, forms: tuple[ev.PermittedForm, ...], words: str
) -> None:
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    err = case.rejects(completion(assessment_id, decision, forms), "permitted_forms")
    assert words in err.reason


@pytest.mark.parametrize(
    ("decision", "forms"),
    [
        (ev.RiskDecision.INDIRECT_ONLY, (LETTER, SHUTTLE, CONFERENCE_WITHOUT, STORY)),
        (ev.RiskDecision.UNSENT_LETTER_ONLY, (UNSENT,)),
        (ev.RiskDecision.DO_NOT_PROCEED, ()),
    ],
)
def test_consistent_decisions_are_recorded(
    decision: ev.RiskDecision, forms: tuple[ev.PermittedForm, ...]
) -> None:
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    (event,) = case.run(completion(assessment_id, decision, forms))
    assert isinstance(event, ev.RiskAssessmentCompleted)
    assert permitted_forms(case.state, T0) == frozenset(forms)


# ------------------------------------------------------------------------- permits, staleness


def test_permits_answers_now_and_as_of_a_past_moment() -> None:
    case = Case()
    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=10)
    assessed(case, F2F, at=t1)
    later = start(case, at=t2)
    case.run(completion(later, ev.RiskDecision.DO_NOT_PROCEED, ()), at=t2)

    assert not permits(case.state, ContactForm.FACE_TO_FACE, T0)  # nothing assessed yet
    assert permits(case.state, ContactForm.FACE_TO_FACE, t1)
    assert permits(case.state, ContactForm.FACE_TO_FACE, t2 - timedelta(seconds=1))
    assert not permits(case.state, ContactForm.FACE_TO_FACE, t2)
    assert not permits(case.state, ContactForm.FACE_TO_FACE, t2 + timedelta(days=1))


def test_a_stale_assessment_permits_nothing() -> None:
    case = Case()
    assessed(case, F2F, valid_for_days=30)
    valid_until = T0 + timedelta(days=30)
    assert case.history[-1][0].valid_until == valid_until
    assert permits(case.state, ContactForm.FACE_TO_FACE, valid_until - timedelta(seconds=1))
    assert not permits(case.state, ContactForm.FACE_TO_FACE, valid_until)
    assert permitted_forms(case.state, valid_until) == frozenset()


def test_the_validity_period_is_configurable() -> None:
    case = Case(make_decider(RiskPolicy(default_validity_days=14, max_validity_days=60)))
    assessed(case, F2F)
    assert case.history[-1][0].valid_until == T0 + timedelta(days=14)
    other = start(case)
    no_legal_restrictions(case, other)
    case.rejects(completion(other, valid_for_days=61), "valid_for_days")


def test_an_initial_assessment_permits_no_contact() -> None:
    case = Case()
    assessment_id = start(case, ev.AssessmentStage.INITIAL)
    no_legal_restrictions(case, assessment_id)
    case.run(completion(assessment_id, forms=(F2F,)))
    assert not permits(case.state, ContactForm.FACE_TO_FACE, T0)


def test_permits_distinguishes_whether_the_responsible_person_takes_part() -> None:
    case = Case()
    assessed(case, CONFERENCE_WITHOUT, STORY, UNSENT)
    state = case.state
    assert not permits(state, ContactForm.CONFERENCE, T0)  # asks the riskier reading by default
    assert permits(state, ContactForm.CONFERENCE, T0, with_responsible_person=False)
    assert permits(state, ContactForm.STORY_TELLING, T0)
    assert permits(state, ContactForm.UNSENT_LETTER, T0)  # without them by nature
    assert permits(state, ContactForm.UNSENT_LETTER, T0, with_responsible_person=False)
    # Combinations that cannot exist are never permitted.
    assert not permits(state, ContactForm.UNSENT_LETTER, T0, with_responsible_person=True)
    assert not permits(state, ContactForm.LETTER, T0)  # a letter exchange is with them
    assert not permits(state, ContactForm.LETTER, T0, with_responsible_person=False)


def test_an_unsent_letter_only_decision_permits_exactly_an_unsent_letter() -> None:
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    case.run(completion(assessment_id, ev.RiskDecision.UNSENT_LETTER_ONLY, (UNSENT,)))
    allowed = {
        (form, involved)
        for form in ContactForm
        for involved in (True, False)
        if permits(case.state, form, T0, with_responsible_person=involved)
    }
    assert allowed == {(ContactForm.UNSENT_LETTER, False)}


@pytest.mark.parametrize(
    ("form", "involved"),
    [
        (ContactForm.UNSENT_LETTER, True),
        (ContactForm.STORY_TELLING, True),
        (ContactForm.LETTER, False),
        (ContactForm.FACE_TO_FACE, False),
        (ContactForm.INDIRECT, False),
    ],
)
def test_a_permitted_form_fits_who_takes_part(form: ContactForm, involved: bool) -> None:
    with pytest.raises(ValidationError) as caught:
        ev.PermittedForm(form=form, with_responsible_person=involved)
    assert caught.value.errors()[0]["loc"] == ("with_responsible_person",)


def test_every_form_of_the_platform_has_a_reading() -> None:
    assert len(ContactForm) == 8
    assert not ALWAYS_WITH_RESPONSIBLE_PERSON & NEVER_WITH_RESPONSIBLE_PERSON
    for form in ContactForm:
        assert any(
            ev.PermittedForm.model_validate({"form": form, "with_responsible_person": involved})
            for involved in (True, False)
            if not (involved and form in NEVER_WITH_RESPONSIBLE_PERSON)
            and not (not involved and form in ALWAYS_WITH_RESPONSIBLE_PERSON)
        )


def test_permits_needs_a_timezone() -> None:
    with pytest.raises(ValueError):
        permits(Case().state, ContactForm.LETTER, datetime(2025, 1, 1))


# -------------------------------------------------------------------------------------- flags


def test_flags_raise_resolve_and_answer_as_of_a_moment() -> None:
    case = Case()
    flag_id, t1 = uuid4(), T0 + timedelta(hours=2)
    raise_ = c.RaiseRiskFlag(flag_id=flag_id, severity="severe", category="safety_threat")
    raised, due = case.run(raise_)
    assert isinstance(due, ev.RiskReassessmentDue)
    assert (due.trigger, due.trigger_event_id) == ("risk_flag_raised", raised.flag_id)
    assert case.run(raise_) == []  # a retry: no second flag, no second reassessment
    assert reassessment_due(case.state)
    case.rejects(c.RaiseRiskFlag(flag_id=flag_id, severity="low", category="other"), "flag_id")
    assert [f.raised.flag_id for f in unresolved_severe_flags(case.state)] == [flag_id]

    resolve = c.ResolveRiskFlag(flag_id=flag_id, reason="risk_addressed", note="  plan agreed  ")
    (resolved,) = case.run(resolve, at=t1)
    assert isinstance(resolved, ev.RiskFlagResolved) and resolved.note == "plan agreed"
    assert unresolved_severe_flags(case.state) == ()
    assert unresolved_severe_flags(case.state, T0) != ()  # it stood before it was resolved
    assert unresolved_flags(case.state, t1) == ()
    assert case.state.flags[0].resolved_by == PRACTITIONER.id


def test_a_flag_resolved_twice_or_unknown_is_rejected() -> None:
    case = Case()
    flag_id = uuid4()
    case.run(c.RaiseRiskFlag(flag_id=flag_id, severity="high", category="manipulation"))
    case.run(c.ResolveRiskFlag(flag_id=flag_id, reason="raised_in_error"))
    case.rejects(c.ResolveRiskFlag(flag_id=flag_id, reason="raised_in_error"), "flag_id")
    case.rejects(c.ResolveRiskFlag(flag_id=uuid4(), reason="other"), "flag_id")


@pytest.mark.parametrize(
    ("affects", "note", "owner"),
    [
        ("hp-3f9a2c", "calmer now", "hp-3f9a2c"),
        (None, "calmer now", CASE),
        ("hp-3f9a2c", None, None),
    ],
)
def test_a_resolution_note_is_sealed_under_the_affected_person_or_the_case(
    affects: str | None, note: str | None, owner: str | None
) -> None:
    assert ev.RiskFlagResolved.personal_fields == ("note",)
    assert ev.RiskFlagResolved.personal_owner == "note_owner"
    case = Case()
    flag_id = uuid4()
    case.run(c.RaiseRiskFlag(flag_id=flag_id, severity="low", category="other", affects=affects))
    resolve = c.ResolveRiskFlag(flag_id=flag_id, reason="no_longer_present", note=note)
    (resolved,) = case.run(resolve)
    assert resolved.note_owner == owner


@pytest.mark.parametrize("affects", ["hp-3f9a2c", None])
async def test_a_resolution_note_seals_and_is_shredded_with_its_owner(affects: str | None) -> None:
    sealer = FieldSealer(InMemoryKeyStore(), AgencyKeys(master_key=bytes(range(32))))
    case = Case()
    flag_id = uuid4()
    case.run(c.RaiseRiskFlag(flag_id=flag_id, severity="high", category="other", affects=affects))
    (resolved,) = case.run(c.ResolveRiskFlag(flag_id=flag_id, reason="other", note="calmer now"))
    where = {"agency": "north-rj", "stream_id": CASE, "event_id": uuid4(), "actor_id": "prac-1a2b"}
    stored = await sealer.seal_event_data(resolved, resolved.to_data(), **where)
    assert "calmer now" not in str(stored)
    registry.decode("RiskFlagResolved", 1, stored)  # still a valid event once sealed

    async def opened() -> dict:
        return await sealer.open_event_data(
            stored,
            event_type="RiskFlagResolved",
            schema_version=1,
            personal_owner="note_owner",
            **where,
        )

    assert (await opened())["note"] == "calmer now"
    await sealer.shred(resolved.note_owner)
    assert (await opened())["note"] is None


def test_flags_stay_separate_from_permits() -> None:
    case = Case()
    assessed(case, F2F)
    case.run(c.RaiseRiskFlag(flag_id=uuid4(), severity="severe", category="coercive_control"))
    assert permits(case.state, ContactForm.FACE_TO_FACE, T0)
    assert len(unresolved_severe_flags(case.state)) == 1


# ------------------------------------------------------------------------------ safety plans


def plan(assessment_id: UUID, **kw: bool) -> c.AgreeSafetyPlan:
    fields = dict.fromkeys(
        ("separate_arrival_departure", "support_person_present", "breaks", "exit_plan"), True
    )
    return c.AgreeSafetyPlan(
        assessment_id=assessment_id, agreed_with="hp-3f9a2c", code_word_set=True, **fields | kw
    )


def test_a_safety_plan_links_to_a_known_assessment_and_a_repeat_emits_nothing() -> None:
    case = Case()
    case.rejects(plan(uuid4()), "assessment_id")
    assessment_id = assessed(case)
    assert len(case.run(plan(assessment_id))) == 1
    assert case.run(plan(assessment_id)) == []
    assert len(case.run(plan(assessment_id, breaks=False))) == 1
    (current,) = case.state.safety_plans
    assert current.breaks is False


def test_a_safety_plan_never_takes_the_code_word_itself() -> None:
    with pytest.raises(ValidationError):
        c.AgreeSafetyPlan.model_validate(
            {**plan(uuid4()).model_dump(mode="json"), "code_word": "bluebird"}
        )


# -------------------------------------------------------------------------------------- actors


@pytest.mark.parametrize("actor", [HARMED, COORDINATOR, SYSTEM])
def test_only_practitioners_write(actor: Actor) -> None:
    case = Case()
    with pytest.raises(Forbidden):
        case.run(c.StartRiskAssessment(assessment_id=uuid4(), stage="initial"), actor=actor)
    with pytest.raises(Forbidden):
        case.run(c.RaiseRiskFlag(flag_id=uuid4(), severity="low", category="other"), actor=actor)


def test_only_the_service_reactions_mark_a_reassessment_due() -> None:
    trigger = c.MarkReassessmentDue(trigger="consent_regranted", trigger_event_id=uuid4())
    with pytest.raises(Forbidden):
        Case().run(trigger, actor=PRACTITIONER)


# ------------------------------------------------------------------------------ reassessments


def test_a_trigger_makes_a_reassessment_due_once_even_when_delivered_twice() -> None:
    case = Case()
    assessed(case)
    cause = uuid4()
    trigger = c.MarkReassessmentDue(trigger="session_halted_for_safety", trigger_event_id=cause)
    (due,) = case.run(trigger, actor=SYSTEM)
    assert isinstance(due, ev.RiskReassessmentDue) and due.trigger_event_id == cause
    assert case.run(trigger, actor=SYSTEM) == []
    assert reassessment_due(case.state)

    assessed(case, at=T0 + timedelta(days=1))
    assert not reassessment_due(case.state)
    assert case.run(trigger, actor=SYSTEM) == []  # still the same trigger, after the answer
    other = c.MarkReassessmentDue(trigger="case_stage_changed", trigger_event_id=uuid4())
    assert len(case.run(other, actor=SYSTEM)) == 1


# ------------------------------------------------------------------------------ command shape


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"kind": "self_harm", "status": "present"}, "severity"),
        ({"kind": "self_harm", "status": "absent", "severity": "low"}, "severity"),
        ({"kind": "protective_order", "status": "present", "severity": "high"}, "carve_out"),
        ({"kind": "mental_health", "status": "unknown", "carve_out": True}, "carve_out"),
        ({"kind": "self_harm", "status": "absent", "note_ref": "she said that"}, "note_ref"),
        ({"kind": "weather", "status": "absent"}, "kind"),
    ],
)
def test_a_malformed_factor_fails_on_its_field(raw: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        c.RecordRiskFactor.model_validate({"assessment_id": str(uuid4()), "factor": raw})
    assert any(e["loc"][-1] == field for e in caught.value.errors())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"permitted_forms": [{"form": "face_to_face", "with_responsible_person": True}] * 2},
            "permitted_forms",
        ),
        (
            {"permitted_forms": [{"form": "face_to_face", "with_responsible_person": False}]},
            "with_responsible_person",
        ),
        (
            {"permitted_forms": [{"form": "letter", "with_responsible_person": "yes"}]},
            "with_responsible_person",
        ),
        ({"reasons": []}, "reasons"),
        ({"signed_off_by": "Dr Jane Doe"}, "signed_off_by"),
        ({"valid_for_days": 0}, "valid_for_days"),
        ({"valid_for_days": "30"}, "valid_for_days"),
        ({"decision": "maybe"}, "decision"),
        ({"actor": "prac-77ab12"}, "actor"),
    ],
)
def test_a_malformed_completion_fails_on_its_field(change: dict, field: str) -> None:
    body = {
        "assessment_id": str(uuid4()),
        "decision": "proceed",
        "permitted_forms": [{"form": "letter", "with_responsible_person": True}],
        "reasons": ["suitable_with_safeguards"],
        "signed_off_by": SPECIALIST,
    }
    with pytest.raises(ValidationError) as caught:
        c.CompleteRiskAssessment.model_validate(body | change)
    assert any(field in map(str, e["loc"]) for e in caught.value.errors())


def test_events_are_registered_and_round_trip() -> None:
    for model in ev.RISK_EVENTS:
        assert registry.model(model.event_type) is model
    case = Case()
    assessed(case, F2F, LETTER)
    for event, _ in case.history:
        assert registry.decode(event.event_type, 1, event.to_data()) == event


# --------------------------------------------------------------------------------- properties
# A script is a list of steps; `play` gives them ids from the case so far, so that most of them
# are accepted and whole assessments complete (a blind command soup is nearly all rejections).

FLAG_IDS = [UUID(int=n) for n in range(10, 13)]
TRIGGER_IDS = [UUID(int=n) for n in range(20, 23)]
ALL_FORMS = [
    ev.PermittedForm(form=form, with_responsible_person=involved)
    for form in ContactForm
    for involved in (True, False)
    if not (form in ALWAYS_WITH_RESPONSIBLE_PERSON and not involved)
    and not (form in NEVER_WITH_RESPONSIBLE_PERSON and involved)
]


@st.composite
def factors(draw: st.DrawFn) -> ev.RiskFactor:
    kind = draw(st.sampled_from(ev.FactorKind))
    status = draw(st.sampled_from(ev.FactorStatus))
    present = status is ev.FactorStatus.PRESENT
    return ev.RiskFactor(
        kind=kind,
        status=status,
        severity=draw(st.sampled_from(ev.Severity)) if present else None,
        concerns=draw(st.sampled_from([None, "hp-3f9a2c", "rp-88aa11"])),
        carve_out=draw(st.booleans()) if present and kind in ev.LEGAL_RESTRICTIONS else None,
    )


WITHOUT_MEETINGS = [f for f in ALL_FORMS if not (f.form in MEETINGS and f.with_responsible_person)]


def some(forms: list[ev.PermittedForm]) -> st.SearchStrategy[tuple[ev.PermittedForm, ...]]:
    return st.lists(st.sampled_from(forms), unique=True, min_size=1, max_size=3).map(tuple)


# Mostly forms that fit the decision, so that assessments complete; sometimes any forms at all.
FITTING = {
    ev.RiskDecision.PROCEED: some(ALL_FORMS),
    ev.RiskDecision.INDIRECT_ONLY: some(WITHOUT_MEETINGS),
    ev.RiskDecision.UNSENT_LETTER_ONLY: st.just((UNSENT,)),
    ev.RiskDecision.DO_NOT_PROCEED: st.just(()),
}
decisions = st.sampled_from(ev.RiskDecision).flatmap(
    lambda decision: st.fixed_dictionaries(
        {
            "decision": st.just(decision),
            "forms": FITTING[decision] | FITTING[decision] | st.just(()) | some(ALL_FORMS),
            "signed": st.sampled_from([True, True, True, False]),
            "days": st.none() | st.integers(1, 200),
        }
    )
)
bools = st.booleans()
step = st.one_of(
    st.tuples(
        st.just("assess"),
        st.sampled_from(ev.AssessmentStage),
        st.lists(factors(), max_size=3),
        st.booleans(),  # clear the legal restrictions first
        decisions,
    ),
    st.tuples(st.just("start"), st.sampled_from(ev.AssessmentStage)),
    st.tuples(st.just("factor"), factors()),
    st.tuples(st.just("complete"), decisions),
    st.tuples(st.just("plan"), bools, bools, bools, bools, bools),
    st.tuples(
        st.just("raise"),
        st.sampled_from(FLAG_IDS),
        st.sampled_from(ev.Severity),
        st.sampled_from(ev.FlagCategory),
    ),
    st.tuples(st.just("resolve"), st.sampled_from(FLAG_IDS), st.sampled_from(ev.FlagResolution)),
    st.tuples(
        st.just("due"), st.sampled_from(ev.ReassessmentTrigger), st.sampled_from(TRIGGER_IDS)
    ),
)
minutes = st.integers(0, 60 * 24) | st.integers(0, 60 * 24 * 120)
steps = st.lists(
    st.tuples(step, minutes, st.sampled_from([PRACTITIONER] * 9 + [HARMED])),
    max_size=25,
)


def assess_step(decision: ev.RiskDecision, forms: tuple[ev.PermittedForm, ...]) -> tuple:
    d = {"decision": decision, "forms": forms, "signed": True, "days": None}
    return (("assess", ev.AssessmentStage.FULL, [], True, d), 0, PRACTITIONER)


# Random histories with a permitting assessment, later a decision not to proceed, and more after:
# the case where a wrong query would fall back on the earlier permission.
steps_around_a_refusal = st.tuples(steps, steps, steps).map(
    lambda parts: [
        *parts[0],
        assess_step(ev.RiskDecision.PROCEED, (F2F, CONFERENCE_WITHOUT)),
        *parts[1],
        assess_step(ev.RiskDecision.DO_NOT_PROCEED, ()),
        *parts[2],
    ]
)


def commands_for(case: Case, op: tuple, counter: list[int]) -> list[object]:
    kind, *args = op
    latest = case.state.assessments[-1].assessment_id if case.state.assessments else UUID(int=0)

    def complete(assessment_id: UUID, d: dict) -> c.CompleteRiskAssessment:
        return c.CompleteRiskAssessment(
            assessment_id=assessment_id,
            decision=d["decision"],
            permitted_forms=d["forms"],
            reasons=(ev.DecisionReason.OTHER,),
            signed_off_by=SPECIALIST if d["signed"] else None,
            valid_for_days=d["days"],
        )

    if kind == "start" or (kind == "assess" and open_assessment(case.state) is None):
        counter[0] += 1
        target = UUID(int=counter[0])
        out: list[object] = [c.StartRiskAssessment(assessment_id=target, stage=args[0])]
    else:
        target, out = latest, []
    if kind == "assess":  # a whole assessment, finishing the open one if there is one
        _, extra, clear, d = args
        legal = [factor(k) for k in ev.LEGAL_RESTRICTIONS] if clear else []
        out += [c.RecordRiskFactor(assessment_id=target, factor=f) for f in legal + extra]
        out.append(complete(target, d))
    if kind in ("assess", "start"):
        return out
    if kind == "factor":
        return [c.RecordRiskFactor(assessment_id=latest, factor=args[0])]
    if kind == "complete":
        return [complete(latest, args[0])]
    if kind == "plan":
        names = ("separate_arrival_departure", "support_person_present", "breaks", "exit_plan")
        return [
            c.AgreeSafetyPlan(
                assessment_id=latest,
                agreed_with="hp-3f9a2c",
                code_word_set=args[4],
                **dict(zip(names, args[:4], strict=True)),
            )
        ]
    if kind == "raise":
        return [c.RaiseRiskFlag(flag_id=args[0], severity=args[1], category=args[2])]
    if kind == "resolve":
        return [c.ResolveRiskFlag(flag_id=args[0], reason=args[1])]
    return [c.MarkReassessmentDue(trigger=args[0], trigger_event_id=args[1])]


def play(script: list) -> Case:
    case, now, counter = Case(), T0, [100]
    for op, minutes, actor in script:
        now += timedelta(minutes=minutes)
        for command in commands_for(case, op, counter):
            who = SYSTEM if isinstance(command, c.MarkReassessmentDue) else actor
            try:
                case.run(command, at=now, actor=who)
            except (Rejected, Forbidden):
                pass
    return case


@settings(deadline=None)
@given(steps)
def test_fold_of_the_stored_history_equals_the_incremental_state(script: list) -> None:
    case = play(script)
    stored = [
        (registry.decode(e.event_type, e.schema_version, e.to_data()), meta)
        for e, meta in case.history
    ]
    assert decider.fold(CASE, stored) == case.state
    assert decider.fold(CASE, case.history) == case.state


@settings(deadline=None)
@given(steps_around_a_refusal, st.integers(0, 60 * 24) | st.integers(0, 60 * 24 * 400))
def test_nothing_is_permitted_while_a_do_not_proceed_decision_governs(
    script: list, offset_minutes: int
) -> None:
    case = play(script)
    completions = [
        (meta.occurred_at, e)
        for e, meta in case.history
        if isinstance(e, ev.RiskAssessmentCompleted)
    ]
    for index, (completed_at, event) in enumerate(completions):
        if event.decision is not ev.RiskDecision.DO_NOT_PROCEED:
            continue
        # Any moment from this decision until the next one completes.
        until = completions[index + 1][0] if index + 1 < len(completions) else None
        if until == completed_at:
            continue  # superseded in the same instant: the later decision governs
        moment = completed_at + timedelta(minutes=offset_minutes)
        if until is not None and moment >= until:
            moment = completed_at
        assert permitted_forms(case.state, moment) == frozenset()
        for form in ContactForm:
            for involved in (True, False):
                assert not permits(case.state, form, moment, with_responsible_person=involved)


# ------------------------------------------------------------------------------- rule packs
# A completion made under a pack (issue #21) uses its validity periods and records its
# reference; a pack adopted later judges the standing decision by its own longest validity from
# the adoption on, never lengthening it, never touching the past.

V1, V2 = rules.load("england-wales", 1), rules.load("england-wales", 2)
SCOTLAND = rules.load("scotland", 1)


def under(pack: rules.RulePack, command: c.CompleteRiskAssessment) -> c.UnderRulePack:
    return c.UnderRulePack(
        command, pack.ref, pack.risk.default_validity_days, pack.risk.max_validity_days
    )


def decided_under(case: Case, pack: rules.RulePack, **kw: object) -> ev.RiskAssessmentCompleted:
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    [done] = case.run(under(pack, completion(assessment_id, forms=(F2F,), **kw)))
    return done


def test_a_decision_records_its_pack_and_takes_its_validity():
    case = Case()
    done = decided_under(case, V2)
    assert done.rule_pack == "england-wales@2"
    assert done.valid_until == T0 + timedelta(days=V2.risk.default_validity_days)
    other = Case()
    assessment_id = start(other)
    no_legal_restrictions(other, assessment_id)
    other.rejects(under(SCOTLAND, completion(assessment_id, valid_for_days=121)), "valid_for_days")


def test_a_later_pack_judges_the_standing_decision_from_the_adoption_on():
    case = Case()
    done = decided_under(case, V1)  # 90 days
    adopted = T0 + timedelta(days=10)
    revalidate = c.RevalidateUnderRulePack(V2.ref, V2.risk.max_validity_days)
    [event] = case.run(revalidate, at=adopted, actor=SYSTEM)
    assert event == ev.RiskDecisionRevalidated(
        assessment_id=done.assessment_id, valid_until=T0 + timedelta(days=60), rule_pack=V2.ref
    )
    face = ContactForm.FACE_TO_FACE
    assert permits(case.state, face, T0 + timedelta(days=59))
    assert not permits(case.state, face, T0 + timedelta(days=61))
    # Applied again (a redelivery): nothing more.
    assert case.run(revalidate, at=adopted, actor=SYSTEM) == []


def test_a_decision_older_than_the_new_limit_goes_stale_at_the_adoption_not_before():
    case = Case()
    decided_under(case, V1)
    adopted = T0 + timedelta(days=75)  # past v2's 60 days, within v1's 90
    [event] = case.run(c.RevalidateUnderRulePack(V2.ref, 60), at=adopted, actor=SYSTEM)
    assert event.valid_until == adopted
    face = ContactForm.FACE_TO_FACE
    assert permits(case.state, face, adopted - timedelta(seconds=1))  # v1, as of its time
    assert not permits(case.state, face, adopted)


def test_a_pack_never_lengthens_a_decision_nor_revives_a_stale_one():
    case = Case()
    decided_under(case, V2)  # 42 days
    assert case.run(c.RevalidateUnderRulePack(V1.ref, 180), at=T0, actor=SYSTEM) == []
    stale = T0 + timedelta(days=50)
    assert case.run(c.RevalidateUnderRulePack("scotland@1", 1), at=stale, actor=SYSTEM) == []
    assert Case().run(c.RevalidateUnderRulePack(V2.ref, 60), actor=SYSTEM) == []  # no decision


def test_only_the_service_applies_a_pack():
    case = Case()
    decided_under(case, V1)
    with pytest.raises(Forbidden):
        case.run(c.RevalidateUnderRulePack(V2.ref, 60), actor=PRACTITIONER)


def under_decisions(pack: rules.RulePack, command: c.CompleteRiskAssessment) -> c.UnderRulePack:
    return c.UnderRulePack(
        command,
        pack.ref,
        pack.risk.default_validity_days,
        pack.risk.max_validity_days,
        pack.decisions,
        pack.factors,
    )


def looked_at(case: Case, assessment_id: UUID, pack: rules.RulePack) -> None:
    """No legal restriction, and every factor kind the pack requires recorded absent."""
    no_legal_restrictions(case, assessment_id)
    record(case, assessment_id, *(factor(k) for k in pack.factors.required))


def test_which_forms_an_indirect_only_decision_permits_is_the_pack_s():
    # England and Wales (and Scotland v1): letters and shuttle messages with the responsible
    # person; Scotland v2: shuttle messages only. A meeting is never indirect, whatever the pack.
    indirect = ev.RiskDecision.INDIRECT_ONLY
    scotland2 = rules.load("scotland", 2)
    for pack, forms in ((V1, (LETTER, SHUTTLE)), (SCOTLAND, (LETTER,)), (scotland2, (SHUTTLE,))):
        case = Case()
        assessment_id = start(case)
        looked_at(case, assessment_id, scotland2)
        [done] = case.run(under_decisions(pack, completion(assessment_id, indirect, forms)))
        assert done.permitted_forms == forms and done.rule_pack == pack.ref
    case = Case()
    assessment_id = start(case)
    looked_at(case, assessment_id, scotland2)
    refused = case.rejects(
        under_decisions(scotland2, completion(assessment_id, indirect, (LETTER, SHUTTLE))),
        "permitted_forms",
    )
    assert str(refused) == (
        "letter with the responsible person is not among the forms an indirect-only decision "
        "permits under rule pack scotland@2 (indirect)"
    )
    meeting = under_decisions(scotland2, completion(assessment_id, indirect, (F2F,)))
    assert "which an indirect-only decision rules out" in str(
        case.rejects(meeting, "permitted_forms")
    )


def test_the_legal_restrictions_checked_are_the_pack_s():
    # A pack listing only the protective order does not wait for a bail or licence check.
    only_order = V1.decisions.model_copy(
        update={"legal_restrictions": (ev.FactorKind.PROTECTIVE_ORDER,)}
    )
    pack = V1.model_copy(update={"decisions": only_order})
    case = Case()
    assessment_id = start(case)
    record(case, assessment_id, factor(ev.FactorKind.PROTECTIVE_ORDER))
    [done] = case.run(under_decisions(pack, completion(assessment_id)))
    assert done.permitted_forms == (F2F,)
    other = Case()
    assessment_id = start(other)
    record(other, assessment_id, factor(ev.FactorKind.PROTECTIVE_ORDER))
    refused = other.rejects(under_decisions(V1, completion(assessment_id)), "permitted_forms")
    assert "no bail or licence conditions check is recorded" in str(refused)


def test_a_full_assessment_records_the_factor_kinds_its_pack_requires_before_completion():
    scotland2 = rules.load("scotland", 2)
    case = Case()
    assessment_id = start(case)
    no_legal_restrictions(case, assessment_id)
    record(case, assessment_id, factor(ev.FactorKind.COERCIVE_CONTROL, ev.FactorStatus.UNKNOWN))
    refused = case.rejects(under_decisions(scotland2, completion(assessment_id)), "assessment_id")
    assert str(refused) == (
        "rule pack scotland@2 asks a full assessment to record ongoing relationship, "
        "retraumatisation, self harm first (present, absent or unknown)"
    )
    [done] = case.run(under_decisions(V1, completion(assessment_id)))  # england-wales: none
    assert done.rule_pack == V1.ref
    again = Case()
    assessment_id = start(again)
    no_legal_restrictions(again, assessment_id)
    looked_at = (ev.FactorKind.ONGOING_RELATIONSHIP, ev.FactorKind.RETRAUMATISATION)
    record(again, assessment_id, *(factor(k) for k in looked_at))
    record(again, assessment_id, factor(ev.FactorKind.SELF_HARM, ev.FactorStatus.PRESENT))
    record(again, assessment_id, factor(ev.FactorKind.COERCIVE_CONTROL, ev.FactorStatus.UNKNOWN))
    [done] = again.run(under_decisions(scotland2, completion(assessment_id)))
    assert done.rule_pack == "scotland@2"
    initial = Case()  # an initial assessment decides suitability only: nothing required
    assessment_id = start(initial, ev.AssessmentStage.INITIAL)
    no_legal_restrictions(initial, assessment_id)
    assert initial.run(under_decisions(scotland2, completion(assessment_id)))


def test_the_weighted_indicator_informs_and_names_its_pack():
    from mend_risk.domain.indicator import indicator

    scotland2 = rules.load("scotland", 2)
    recorded = (
        factor(ev.FactorKind.SELF_HARM, ev.FactorStatus.PRESENT),
        factor(ev.FactorKind.SELF_HARM, ev.FactorStatus.PRESENT, concerns="rp-88aa11"),
        factor(ev.FactorKind.POWER_IMBALANCE, ev.FactorStatus.PRESENT),
        factor(ev.FactorKind.COERCIVE_CONTROL, ev.FactorStatus.UNKNOWN),
        factor(ev.FactorKind.PROTECTIVE_ORDER),
    )
    shown = indicator(recorded, scotland2)
    weights = scotland2.factors.weights
    assert shown == {
        "rule_pack": "scotland@2",
        "score": weights[ev.FactorKind.SELF_HARM] + weights[ev.FactorKind.POWER_IMBALANCE],
        "out_of": sum(weights.values()),
        "present": ["power_imbalance", "self_harm"],
        "unknown": ["coercive_control"],
        "missing": ["ongoing_relationship", "retraumatisation"],
        "decides": False,
    }
    assert indicator(recorded, V1)["score"] == 8 + 6 and indicator(recorded, V1)["missing"] == []
