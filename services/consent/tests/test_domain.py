"""Each rule of the consent domain, each rejection (nothing emitted), and idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from mend_consent import commands as c
from mend_consent.domain import (
    ConsentState,
    GrantStatus,
    acknowledgement_stands,
    active_grants,
    covers,
    current_grants,
    decider,
)
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog import consent as ev
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent, registry
from mend_events.errors import Forbidden, MendError, NotFound, Rejected
from mend_testkit.samples import consent_given
from pydantic import ValidationError

HP = Actor(id="hp-3f9a2c", role=Role.HARMED_PERSON, agency="north-rj")
RP = Actor(id="rp-77ab12", role=Role.RESPONSIBLE_PERSON, agency="north-rj")
PRAC = Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency="north-rj")
COORD = Actor(id="coord-1a2b3c", role=Role.COORDINATOR, agency="north-rj")
SYSTEM = Actor(id="sys-consent", role=Role.SYSTEM, agency="north-rj")
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
LETTER = ev.contact_scope(ev.ContactForm.LETTER)
F2F = ev.contact_scope(ev.ContactForm.FACE_TO_FACE)


class Case:
    """A stream under test: decide against the folded state, then append what was decided."""

    def __init__(self) -> None:
        self.state: ConsentState = decider.initial("case-9c1d2e4f")
        self.history: list[tuple[DomainEvent, Metadata]] = []

    def do(self, command: object, actor: Actor, at: datetime = T0) -> list[DomainEvent]:
        ctx = CommandContext(actor=actor, now=at, correlation_id=uuid4())
        events = decider.decide(self.state, command, ctx)
        meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, at)
        for event in events:
            self.state = decider.evolve(self.state, event, meta)
            self.history.append((event, meta))
        return events

    def refused(self, command: object, actor: Actor, at: datetime = T0) -> MendError:
        before = self.state
        with pytest.raises(MendError) as info:
            self.do(command, actor, at)
        assert self.state == before  # nothing written
        return info.value

    def give(self, actor: Actor, scope: str = ev.TAKE_PART, **kw: object) -> UUID:
        [event] = self.do(give(actor, scope, **kw), actor)
        assert isinstance(event, ev.ConsentGiven)
        return event.grant_id


TERMS = {
    "purpose": "safeguarding",
    "categories": ["case_progress", "safety_concerns"],
    "event_types": ["CaseOpened", "RiskFlagRaised"],
    "valid_from": T0.isoformat(),
    "valid_until": (T0 + timedelta(days=90)).isoformat(),
}


def give(participant: Actor = HP, scope: str = ev.TAKE_PART, **kw: object) -> c.GiveConsent:
    body = {"informed_how": ev.InformedHow.BOTH, "no_incentive_attested": True, **kw}
    if scope.startswith("share:"):
        body.setdefault("share_terms", TERMS)
    return c.GiveConsent(participant_id=participant.id, scope=scope, **body)


# ------------------------------------------------------------------------------- giving consent


def test_a_participant_gives_consent_for_themself_with_a_witness() -> None:
    case = Case()
    [event] = case.do(give(scope=LETTER, witnessed_by=PRAC.id), HP)
    assert isinstance(event, ev.ConsentGiven)
    assert event.participant_role is Role.HARMED_PERSON
    assert event.witnessed_by == PRAC.id
    assert event.no_incentive_attested is True
    grant = case.state.grants[event.grant_id]
    assert grant.status is GrantStatus.ACTIVE and grant.given_at == T0


def test_consent_where_an_incentive_was_offered_is_rejected() -> None:
    error = Case().refused(give(no_incentive_attested=False), HP)
    assert isinstance(error, Rejected) and error.field == "no_incentive_attested"


@pytest.mark.parametrize("actor", [RP, PRAC, COORD, SYSTEM])
def test_nobody_gives_consent_on_another_participants_behalf(actor: Actor) -> None:
    error = Case().refused(give(HP), actor)
    assert isinstance(error, Forbidden) and error.field == "participant_id"


def test_a_practitioner_cannot_record_consent_even_naming_themself() -> None:
    error = Case().refused(give(PRAC), PRAC)
    assert isinstance(error, Forbidden) and error.field == "participant_id"


@pytest.mark.parametrize("expires", [T0, T0 - timedelta(seconds=1)])
def test_an_expiry_not_in_the_future_is_rejected(expires: datetime) -> None:
    error = Case().refused(give(expires_at=expires), HP)
    assert isinstance(error, Rejected) and error.field == "expires_at"


def test_a_participant_cannot_witness_their_own_consent() -> None:
    error = Case().refused(give(witnessed_by=HP.id), HP)
    assert isinstance(error, Rejected) and error.field == "witnessed_by"


def test_an_identical_grant_in_force_is_not_given_twice() -> None:
    case = Case()
    case.do(give(scope=LETTER), HP)
    assert case.do(give(scope=LETTER, informed_how="verbal_explained"), HP, T0 + timedelta(1)) == []
    assert len(case.state.grants) == 1


def test_a_retried_request_with_its_grant_id_is_harmless() -> None:
    case, gid = Case(), uuid4()
    case.do(give(grant_id=gid), HP)
    assert case.do(give(grant_id=gid), HP) == []
    error = case.refused(give(scope=LETTER, grant_id=gid), HP)
    assert isinstance(error, Rejected) and error.field == "grant_id"


def test_consent_can_be_given_again_after_withdrawal_or_with_another_expiry() -> None:
    case = Case()
    first = case.give(HP, LETTER)
    case.do(c.WithdrawGrant(grant_id=first), HP)
    second = case.give(HP, LETTER)
    third = case.give(HP, LETTER, expires_at=T0 + timedelta(days=30))
    assert case.state.grants[first].status is GrantStatus.WITHDRAWN
    assert {g.grant_id for g in active_grants(case.state, HP.id)} == {second, third}


# ---------------------------------------------------------------------------- command validation


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "contact",
        "contact:hug",
        "contact:Letter",
        "share:",
        "share:Bad Agency",
        "share:x",
        "take_part:now",
        "circle:",
        "circle:case-9c1d2e4f",
        "circle:circle-x",
        "circle:circle-3f9a 2c",
        "progress",
        "research",
    ],
)
def test_an_unknown_scope_fails_validation(scope: str) -> None:
    with pytest.raises(ValidationError) as info:
        give(scope=scope)
    [error] = info.value.errors()
    assert error["loc"] == ("scope",) and "unknown scope" in error["msg"]


@pytest.mark.parametrize(
    "scope",
    [
        ev.TAKE_PART,
        ev.PROGRESS_UPDATES,
        ev.OUTCOME_RESEARCH,
        "share:police-north",
        "circle:circle-3f9a2c1d",
        *(ev.contact_scope(f) for f in ev.ContactForm),
    ],
)
def test_every_known_scope_is_accepted(scope: str) -> None:
    assert give(scope=scope).scope == scope


def test_commands_are_precise() -> None:
    with pytest.raises(ValidationError):
        give(no_incentive_attested="yes")  # strict: an attestation is a real true
    with pytest.raises(ValidationError):
        give(expires_at=datetime(2030, 1, 1))  # naive: ambiguous
    with pytest.raises(ValidationError):
        give(actor_id=HP.id)  # the actor comes from the token, never the body
    with pytest.raises(ValidationError):
        c.GiveConsent(
            participant_id="Jane Doe",
            scope=ev.TAKE_PART,
            informed_how="both",
            no_incentive_attested=True,
        )
    with pytest.raises(ValidationError):
        c.ReportIncentive(participant_id=HP.id, grant_ids=[])
    gid = uuid4()
    with pytest.raises(ValidationError):
        c.ReportIncentive(participant_id=HP.id, grant_ids=[gid, gid])


def test_a_blank_reason_is_no_reason() -> None:
    assert c.WithdrawAll(participant_id=HP.id, reason="   ").reason is None
    assert c.WithdrawAll(participant_id=HP.id, reason=" mine ").reason == "mine"


# ------------------------------------------------------------------------------------ withdrawal


def test_withdrawing_a_grant_that_does_not_exist_is_not_found() -> None:
    error = Case().refused(c.WithdrawGrant(grant_id=uuid4()), HP)
    assert isinstance(error, NotFound) and error.field == "grant_id"


def test_withdrawal_is_immediate_and_a_second_one_is_a_no_op() -> None:
    case = Case()
    gid = case.give(HP, LETTER)
    state_before = case.state
    [event] = case.do(c.WithdrawGrant(grant_id=gid, reason="not ready"), HP)
    assert isinstance(event, ev.ConsentWithdrawn)
    assert event.target is ev.WithdrawalTarget.GRANT and event.reason == "not ready"
    assert [r.grant_id for r in event.grants] == [gid]
    assert case.state.grants[gid].status is GrantStatus.WITHDRAWN
    # The concurrent twin was decided on the old state; after the store's version conflict the
    # handler decides again on the new one, and there is nothing left to do: no error, no event.
    assert decider.decide(state_before, c.WithdrawGrant(grant_id=gid), _ctx(HP)) != []
    assert case.do(c.WithdrawGrant(grant_id=gid), HP) == []


def test_a_participant_cannot_touch_another_participants_grant() -> None:
    case = Case()
    gid = case.give(HP, LETTER)
    # Reads as not found, so the grant's existence is not revealed to the other participant.
    error = case.refused(c.WithdrawGrant(grant_id=gid), RP)
    assert isinstance(error, NotFound) and error.field == "grant_id"
    for cmd in (
        c.WithdrawScope(participant_id=HP.id, scope=LETTER),
        c.WithdrawAll(participant_id=HP.id),
    ):
        error = case.refused(cmd, RP)
        assert isinstance(error, Forbidden) and error.field == "participant_id"


@pytest.mark.parametrize("actor", [COORD, SYSTEM])
def test_only_the_participant_or_a_practitioner_may_withdraw(actor: Actor) -> None:
    case = Case()
    gid = case.give(HP)
    assert isinstance(case.refused(c.WithdrawGrant(grant_id=gid), actor), Forbidden)
    assert isinstance(case.refused(c.WithdrawAll(participant_id=HP.id), actor), Forbidden)


def test_a_practitioner_may_relay_a_withdrawal() -> None:
    case = Case()
    gid = case.give(HP)
    [event] = case.do(c.WithdrawAll(participant_id=HP.id), PRAC)
    assert event.participant_id == HP.id
    assert case.state.grants[gid].ended_by_role is Role.PRACTITIONER


def test_withdrawing_a_scope_ends_every_grant_of_it_and_nothing_else() -> None:
    case = Case()
    a = case.give(HP, LETTER)
    b = case.give(HP, LETTER, expires_at=T0 + timedelta(days=9))
    other = case.give(HP, F2F)
    rp_letter = case.give(RP, LETTER)
    [event] = case.do(c.WithdrawScope(participant_id=HP.id, scope=LETTER), HP)
    assert event.target is ev.WithdrawalTarget.SCOPE and event.scope == LETTER
    assert {r.grant_id for r in event.grants} == {a, b}
    assert {g.grant_id for g in active_grants(case.state)} == {other, rp_letter}
    assert case.do(c.WithdrawScope(participant_id=HP.id, scope=LETTER), HP) == []


def test_withdrawing_everything_ends_all_of_that_participants_grants_only() -> None:
    case = Case()
    mine = {case.give(HP), case.give(HP, LETTER), case.give(HP, ev.share_scope("police-north"))}
    theirs = case.give(RP)
    [event] = case.do(c.WithdrawAll(participant_id=HP.id), HP, T0 + timedelta(hours=1))
    assert event.target is ev.WithdrawalTarget.EVERYTHING and event.scope is None
    assert {r.grant_id for r in event.grants} == mine
    assert [g.grant_id for g in active_grants(case.state)] == [theirs]
    assert case.do(c.WithdrawAll(participant_id=HP.id), HP) == []


def test_a_withdrawal_reason_is_personal_and_sealed_under_the_participants_key() -> None:
    assert ev.ConsentWithdrawn.personal_fields == ("reason",)
    assert ev.ConsentWithdrawn.personal_owner == "participant_id"


# ----------------------------------------------------------------------------------------- lapse


def test_a_grant_lapses_at_its_expiry_as_an_event() -> None:
    case = Case()
    expiry = T0 + timedelta(days=30)
    gid = case.give(HP, ev.PROGRESS_UPDATES, expires_at=expiry)
    assert case.do(c.LapseDueGrants(), SYSTEM, expiry - timedelta(seconds=1)) == []
    assert covers(case.state, HP.id, ev.PROGRESS_UPDATES, expiry - timedelta(seconds=1))
    # Expired counts as not covered at once, even before the lapse is recorded.
    assert not covers(case.state, HP.id, ev.PROGRESS_UPDATES, expiry)
    [event] = case.do(c.LapseDueGrants(), SYSTEM, expiry + timedelta(hours=5))
    assert isinstance(event, ev.ConsentLapsed) and event.expired_at == expiry
    grant = case.state.grants[gid]
    assert grant.status is GrantStatus.LAPSED and grant.ended_at == expiry
    assert case.do(c.LapseDueGrants(), SYSTEM, expiry + timedelta(days=1)) == []


def test_a_withdrawn_grant_does_not_lapse_later() -> None:
    case = Case()
    gid = case.give(HP, expires_at=T0 + timedelta(days=1))
    case.do(c.WithdrawGrant(grant_id=gid), HP)
    assert case.do(c.LapseDueGrants(), SYSTEM, T0 + timedelta(days=2)) == []
    assert case.state.grants[gid].status is GrantStatus.WITHDRAWN


# ------------------------------------------------------------------------------------- incentive


def test_an_incentive_reported_later_invalidates_that_participants_grants() -> None:
    case = Case()
    hp = {case.give(HP), case.give(HP, LETTER)}
    withdrawn = case.give(HP, F2F)
    case.do(c.WithdrawGrant(grant_id=withdrawn), HP)
    rp = case.give(RP)
    reported, invalidated = case.do(c.ReportIncentive(participant_id=HP.id, note="gift"), PRAC)
    assert isinstance(reported, ev.IncentiveReported) and reported.note == "gift"
    assert isinstance(invalidated, ev.ConsentInvalidated)
    assert invalidated.report_id == reported.report_id
    assert {r.grant_id for r in invalidated.grants} == hp
    assert case.state.grants[withdrawn].status is GrantStatus.WITHDRAWN  # first ending stands
    assert [g.grant_id for g in active_grants(case.state)] == [rp]


def test_an_incentive_report_can_name_the_grants_it_tainted() -> None:
    case = Case()
    tainted, clean = case.give(HP, LETTER), case.give(HP)
    events = case.do(c.ReportIncentive(participant_id=HP.id, grant_ids=[tainted]), HP)
    assert [r.grant_id for r in events[1].grants] == [tainted]
    assert case.state.grants[clean].status is GrantStatus.ACTIVE
    assert case.state.grants[tainted].status is GrantStatus.INVALIDATED


def test_an_incentive_report_naming_an_unknown_grant_is_not_found() -> None:
    case = Case()
    theirs = case.give(RP)
    for gid in (uuid4(), theirs):
        error = case.refused(c.ReportIncentive(participant_id=HP.id, grant_ids=[gid]), PRAC)
        assert isinstance(error, NotFound) and error.field == "grant_ids"


def test_a_report_is_recorded_once_and_even_when_nothing_is_left_to_invalidate() -> None:
    case = Case()
    rid = uuid4()
    [event] = case.do(c.ReportIncentive(participant_id=HP.id, report_id=rid), PRAC)
    assert isinstance(event, ev.IncentiveReported)
    case.give(HP)
    assert case.do(c.ReportIncentive(participant_id=HP.id, report_id=rid), PRAC) == []


def test_a_participant_cannot_void_another_participants_consent() -> None:
    case = Case()
    case.give(HP)
    error = case.refused(c.ReportIncentive(participant_id=HP.id), RP)
    assert isinstance(error, Forbidden) and error.field == "participant_id"


# ------------------------------------------------------------------------------- acknowledgement


def ack(basis: str = "verbal_in_preparation") -> c.RecordAcknowledgement:
    return c.RecordAcknowledgement(responsible_person_id=RP.id, basis=basis)


def test_a_practitioner_records_the_responsible_persons_acknowledgement() -> None:
    case = Case()
    case.give(RP)
    [event] = case.do(ack(), PRAC)
    assert isinstance(event, ev.AcknowledgementRecorded)
    assert event.basis is ev.AcknowledgementBasis.VERBAL_IN_PREPARATION
    assert acknowledgement_stands(case.state, RP.id)
    assert case.do(ack("written_statement"), PRAC) == []  # already stands


@pytest.mark.parametrize("actor", [RP, HP, COORD, SYSTEM])
def test_only_a_practitioner_records_an_acknowledgement(actor: Actor) -> None:
    case = Case()
    case.give(RP)
    error = case.refused(ack(), actor)
    assert isinstance(error, Forbidden) and error.field == "responsible_person_id"


def test_an_acknowledgement_is_only_for_a_responsible_person_taking_part() -> None:
    case = Case()
    error = case.refused(ack(), PRAC)  # no consent at all
    assert isinstance(error, Rejected) and error.field == "responsible_person_id"
    case.give(HP)
    error = case.refused(
        c.RecordAcknowledgement(responsible_person_id=HP.id, basis="written_statement"), PRAC
    )
    assert isinstance(error, Rejected) and error.field == "responsible_person_id"
    gid = case.give(RP)
    case.do(c.WithdrawGrant(grant_id=gid), RP)
    assert isinstance(case.refused(ack(), PRAC), Rejected)


def test_an_acknowledgement_can_be_withdrawn_and_recorded_again() -> None:
    case = Case()
    case.give(RP)
    case.do(ack(), PRAC)
    [event] = case.do(c.WithdrawAcknowledgement(responsible_person_id=RP.id), RP)
    assert isinstance(event, ev.AcknowledgementWithdrawn)
    assert event.ground is ev.AcknowledgementWithdrawalGround.RETRACTED
    assert not acknowledgement_stands(case.state, RP.id)
    assert case.do(c.WithdrawAcknowledgement(responsible_person_id=RP.id), PRAC) == []
    case.do(ack(), PRAC)
    [event] = case.do(
        c.WithdrawAcknowledgement(responsible_person_id=RP.id, ground="minimisation", note="n"),
        PRAC,
    )
    assert event.ground is ev.AcknowledgementWithdrawalGround.MINIMISATION


def test_withdrawing_an_acknowledgement_needs_one_and_the_right_actor() -> None:
    case = Case()
    case.give(RP)
    error = case.refused(c.WithdrawAcknowledgement(responsible_person_id=RP.id), PRAC)
    assert isinstance(error, NotFound) and error.field == "responsible_person_id"
    case.do(ack(), PRAC)
    for actor in (HP, COORD):
        error = case.refused(c.WithdrawAcknowledgement(responsible_person_id=RP.id), actor)
        assert isinstance(error, Forbidden)


# --------------------------------------------------------------------------------------- queries


def test_contact_is_covered_only_while_taking_part_stands() -> None:
    case = Case()
    case.give(HP, LETTER)
    assert not covers(case.state, HP.id, LETTER, T0)
    take_part = case.give(HP)
    assert covers(case.state, HP.id, LETTER, T0)
    assert not covers(case.state, HP.id, F2F, T0)
    assert not covers(case.state, RP.id, LETTER, T0)
    case.do(c.WithdrawGrant(grant_id=take_part), HP)
    assert not covers(case.state, HP.id, LETTER, T0)


def test_sharing_and_updates_stand_on_their_own() -> None:
    case = Case()
    case.give(HP, ev.share_scope("police-north"))
    case.give(HP, ev.PROGRESS_UPDATES)
    assert covers(case.state, HP.id, "share:police-north", T0)
    assert not covers(case.state, HP.id, "share:police-south", T0)
    assert covers(case.state, HP.id, ev.PROGRESS_UPDATES, T0)


def test_current_grants_lists_active_grants_by_status() -> None:
    case = Case()
    kept = case.give(HP, expires_at=T0 + timedelta(days=1))
    gone = case.give(HP, LETTER)
    case.do(c.WithdrawGrant(grant_id=gone), HP)
    [row] = current_grants(case.state)
    assert row.grant_id == kept and row.scope == ev.TAKE_PART
    assert active_grants(case.state, at=T0 + timedelta(days=2)) == []


def test_scope_helpers() -> None:
    assert ev.contact_scope(ev.ContactForm.LETTER) == "contact:letter"
    assert ev.contact_scope("story_telling") == "contact:story_telling"
    assert ev.share_scope("police-north") == "share:police-north"
    assert ev.parse_scope("contact:letter").form is ev.ContactForm.LETTER
    assert ev.parse_scope("share:police-north").agency == "police-north"
    assert ev.parse_scope(ev.TAKE_PART).kind is ev.ScopeKind.TAKE_PART
    with pytest.raises(ValueError):
        ev.contact_scope("hug")
    with pytest.raises(ValueError):
        ev.share_scope("Police North")
    with pytest.raises(ValueError):
        covers(ConsentState("case-9c1d2e4f"), HP.id, "contact:hug", T0)
    assert ev.circle_scope("circle-3f9a2c1d") == "circle:circle-3f9a2c1d"
    assert ev.parse_scope("circle:circle-3f9a2c1d") == ev.ScopeParts(
        ev.ScopeKind.CIRCLE, circle="circle-3f9a2c1d"
    )
    with pytest.raises(ValueError):
        ev.circle_scope("case-9c1d2e4f")


def test_a_circle_grant_stands_on_its_own_and_is_withdrawn_like_any_scope() -> None:
    # Taking part in a peer support circle (issue 21) is a scope of its own: it does not need
    # take_part (peer support stands apart from the case's contact), and withdrawing it ends
    # that grant only; withdrawing everything ends it too.
    circle = ev.circle_scope("circle-3f9a2c1d")
    case = Case()
    grant = case.give(HP, circle)
    assert covers(case.state, HP.id, circle, T0)
    assert not covers(case.state, HP.id, ev.circle_scope("circle-other01"), T0)
    [withdrawn] = case.do(c.WithdrawScope(participant_id=HP.id, scope=circle), PRAC)
    assert [(r.grant_id, r.scope) for r in withdrawn.grants] == [(grant, circle)]
    assert not covers(case.state, HP.id, circle, T0)
    again = case.give(HP, circle)
    [everything] = case.do(c.WithdrawAll(participant_id=HP.id), HP)
    assert again in {r.grant_id for r in everything.grants}


# ------------------------------------------------------------------------------ events and fold


def test_events_survive_storage_and_the_fold_gives_the_same_state() -> None:
    case = Case()
    gid = case.give(HP, LETTER, witnessed_by=PRAC.id, expires_at=T0 + timedelta(days=3))
    case.give(RP)
    case.do(ack(), PRAC)
    case.do(c.WithdrawGrant(grant_id=gid, reason="mine"), HP)
    case.do(c.ReportIncentive(participant_id=RP.id), PRAC)
    case.do(c.WithdrawAcknowledgement(responsible_person_id=RP.id, ground="denial"), PRAC)
    stored = [
        (registry.decode(e.event_type, e.schema_version, e.to_data()), m) for e, m in case.history
    ]
    assert [e for e, _ in stored] == [e for e, _ in case.history]
    assert decider.fold("case-9c1d2e4f", stored) == case.state


def test_evolve_ignores_what_does_not_fit() -> None:
    case = Case()
    gid = case.give(HP)
    meta = case.history[0][1]
    stray = ev.ConsentLapsed(
        grant_id=uuid4(), participant_id=HP.id, scope=ev.TAKE_PART, expired_at=T0
    )
    assert decider.evolve(case.state, stray, meta) == case.state
    case.do(c.WithdrawGrant(grant_id=gid), HP)
    late = ev.ConsentLapsed(grant_id=gid, participant_id=HP.id, scope=ev.TAKE_PART, expired_at=T0)
    assert decider.evolve(case.state, late, meta) == case.state  # the first ending stands


def test_an_event_cannot_claim_consent_given_by_a_practitioner() -> None:
    with pytest.raises(ValidationError):
        consent_given(PRAC.id, Role.PRACTITIONER, ev.TAKE_PART)
    with pytest.raises(ValidationError):
        consent_given(HP.id, Role.HARMED_PERSON, ev.TAKE_PART, no_incentive_attested=False)


def test_every_consent_event_is_registered() -> None:
    for name in (
        "ConsentGiven",
        "ConsentWithdrawn",
        "ConsentLapsed",
        "ConsentInvalidated",
        "IncentiveReported",
        "AcknowledgementRecorded",
        "AcknowledgementWithdrawn",
    ):
        assert registry.model(name).event_type == name


def _ctx(actor: Actor, at: datetime = T0) -> CommandContext:
    return CommandContext(actor=actor, now=at, correlation_id=uuid4())


# ------------------------------------------------------------------- share grants (issue 18)

POLICE = ev.share_scope("police-north")


def test_a_share_grant_carries_its_terms() -> None:
    case = Case()
    [given] = case.do(give(HP, POLICE), HP)
    assert isinstance(given, ev.ConsentGiven)
    terms = given.share_terms
    assert terms is not None and terms.purpose is ev.SharePurpose.SAFEGUARDING
    assert terms.legal_basis is ev.LegalBasis.EXPLICIT_CONSENT  # the default: her own grant
    assert terms.covers("CaseOpened", T0) and not terms.covers("SessionHalted", T0)
    assert not terms.covers("CaseOpened", T0 + timedelta(days=90))  # valid_until is exclusive
    [grant] = active_grants(case.state, HP.id)
    assert grant.share_terms == terms


def test_share_terms_are_required_exactly_for_a_share_scope() -> None:
    case = Case()
    no_terms = c.GiveConsent(
        participant_id=HP.id, scope=POLICE, informed_how="both", no_incentive_attested=True
    )
    assert case.refused(no_terms, HP).field == "share_terms"
    assert case.refused(give(HP, LETTER, share_terms=TERMS), HP).field == "share_terms"


def test_share_terms_over_already_are_refused() -> None:
    err = Case().refused(give(HP, POLICE), HP, at=T0 + timedelta(days=91))
    assert err.field == "share_terms"


@pytest.mark.parametrize(
    "change",
    [
        {"event_types": ["NoSuchEvent"]},
        {"categories": []},
        {"categories": ["gossip"]},
        {"purpose": "marketing"},
        {"valid_until": T0.isoformat()},
        {"event_types": ["CaseOpened", "CaseOpened"]},
    ],
)
def test_bad_share_terms_fail_validation(change: dict) -> None:
    with pytest.raises(ValidationError):
        give(HP, POLICE, share_terms={**TERMS, **change})


def test_only_the_person_gives_or_takes_back_a_share_grant() -> None:
    case = Case()
    grant = case.give(HP, POLICE)
    assert isinstance(case.refused(give(HP, POLICE), PRAC), Forbidden)
    assert isinstance(case.refused(c.WithdrawGrant(grant_id=grant), PRAC), Forbidden)
    withdraw_scope = c.WithdrawScope(participant_id=HP.id, scope=POLICE)
    assert isinstance(case.refused(withdraw_scope, PRAC), Forbidden)
    # Leaving altogether, relayed by her practitioner, still ends it (R2: withdrawal is total).
    [ended] = case.do(c.WithdrawAll(participant_id=HP.id), PRAC)
    assert grant in {ref.grant_id for ref in ended.grants}


def test_a_version_1_share_grant_is_upcast_without_terms_and_shares_nothing() -> None:
    v1 = {
        "grant_id": str(uuid4()),
        "participant_id": HP.id,
        "participant_role": "harmed_person",
        "scope": POLICE,
        "informed_how": "both",
        "no_incentive_attested": True,
        "witnessed_by": None,
        "expires_at": None,
    }
    event = registry.decode("ConsentGiven", 1, v1)
    assert isinstance(event, ev.ConsentGiven) and event.share_terms is None
    assert event.rule_pack is None and not event.expiry_from_pack  # v1 -> v2 -> v3


def test_terms_on_a_scope_that_is_not_sharing_cannot_be_stored() -> None:
    with pytest.raises(ValidationError):
        ev.ConsentGiven.model_validate(
            {
                "grant_id": str(uuid4()),
                "participant_id": HP.id,
                "participant_role": "harmed_person",
                "scope": LETTER,
                "informed_how": "both",
                "no_incentive_attested": True,
                "share_terms": {**TERMS, "legal_basis": "explicit_consent"},
            }
        )


# ------------------------------------------------------------------------------- under a rule pack


def under(command: c.GiveConsent, ref: str, days: int) -> c.UnderConsentRules:
    return c.UnderConsentRules(command, ref, days)


def test_consent_without_an_expiry_takes_the_pack_s_default_and_names_the_pack() -> None:
    case = Case()
    [event] = case.do(under(give(), "scotland@1", 183), HP)
    assert event.expires_at == T0 + timedelta(days=183)
    assert (event.rule_pack, event.expiry_from_pack) == ("scotland@1", True)
    # An expiry the participant chose is theirs, whatever the pack's default.
    mine = T0 + timedelta(days=30)
    [chosen] = case.do(under(give(scope=LETTER, expires_at=mine), "scotland@1", 183), HP)
    assert (chosen.expires_at, chosen.rule_pack, chosen.expiry_from_pack) == (
        mine,
        "scotland@1",
        False,
    )
    assert not covers(case.state, HP.id, ev.TAKE_PART, T0 + timedelta(days=183))


def test_a_retry_after_an_adoption_is_the_same_request_not_another_grant() -> None:
    # The retry carries the first attempt's grant id; the pack in force has changed meanwhile,
    # so the derived expiry differs: the request as made is what decides "the same".
    case = Case()
    grant_id = uuid4()
    [first] = case.do(under(give(grant_id=grant_id), "england-wales@1", 365), HP)
    assert first.expires_at == T0 + timedelta(days=365)
    later = T0 + timedelta(days=1)
    assert case.do(under(give(grant_id=grant_id), "scotland@1", 183), HP, later) == []
    assert case.do(under(give(), "scotland@1", 183), HP, later) == []  # already in force
    other = give(grant_id=grant_id, expires_at=T0 + timedelta(days=9))
    assert case.refused(under(other, "scotland@1", 183), HP, later).field == "grant_id"


def test_a_version_2_grant_is_upcast_as_made_before_rule_packs() -> None:
    v2 = {
        "grant_id": str(uuid4()),
        "participant_id": HP.id,
        "participant_role": "harmed_person",
        "scope": ev.TAKE_PART,
        "informed_how": "both",
        "no_incentive_attested": True,
        "expires_at": (T0 + timedelta(days=5)).isoformat(),
        "share_terms": None,
    }
    event = registry.decode("ConsentGiven", 2, v2)
    assert isinstance(event, ev.ConsentGiven) and ev.ConsentGiven.schema_version == 3
    assert (event.rule_pack, event.expiry_from_pack) == (None, False)
    with pytest.raises(ValidationError):  # a default from a pack names the pack
        ev.ConsentGiven.model_validate({**v2, "expiry_from_pack": True})
