"""Properties over random command sequences, by random actors, at random moments:

(a) a fold over the stored stream (events serialised and decoded, as the store and Kafka see
    them) equals the state evolved step by step, and the current-grants projection equals an
    independent recomputation from the raw event data;
(b) no grant is active after its withdrawal, lapse or invalidation, and none is ended twice;
(c) R1 holds in every history: each grant was given by its own participant, with no incentive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mend_consent.commands import (
    GiveConsent,
    LapseDueGrants,
    RecordAcknowledgement,
    ReportIncentive,
    WithdrawAcknowledgement,
    WithdrawAll,
    WithdrawGrant,
    WithdrawScope,
)
from mend_consent.domain import ConsentState, active_grants, covers, current_grants, decider
from mend_consent.events import PROGRESS_UPDATES, TAKE_PART, InformedHow
from mend_events.contracts import DomainEvent, registry
from mend_events.decider import CommandContext
from mend_events.envelope import Metadata
from mend_events.errors import MendError
from mend_events.identity_types import PARTICIPANT_ROLES, Actor, Role

CASE = "case-9c1d2e4f"
HP = Actor(id="hp-3f9a2c", role=Role.HARMED_PERSON, agency="north-rj")
RP = Actor(id="rp-77ab12", role=Role.RESPONSIBLE_PERSON, agency="north-rj")
SUP = Actor(id="sup-5e6f7a", role=Role.SUPPORTER, agency="north-rj")
PRAC = Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency="north-rj")
SYSTEM = Actor(id="sys-consent", role=Role.SYSTEM, agency="north-rj")
PARTICIPANTS = [HP, RP, SUP]
ACTORS = [*PARTICIPANTS, PRAC, SYSTEM]
SCOPES = [
    TAKE_PART,
    "contact:letter",
    "contact:face_to_face",
    "share:police-north",
    PROGRESS_UPDATES,
]
# A few client-chosen grant ids, so that retries and reuse of an id happen often.
GRANT_IDS = [UUID(int=n) for n in range(1, 4)]
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

History = list[tuple[DomainEvent, Metadata]]


def draw_step(data: st.DataObject, state: ConsentState, now: datetime) -> tuple[object, Actor]:
    who = data.draw(st.sampled_from(PARTICIPANTS))
    # Mostly the participant acting for themself, sometimes anyone: refusals must write nothing.
    actor = data.draw(st.one_of(st.just(who), st.sampled_from(ACTORS)))
    reason = data.draw(st.sampled_from([None, "", "mine"]))
    known = [*sorted(state.grants, key=str), UUID(int=999)]
    kind = data.draw(st.integers(0, 8))
    if kind <= 2:  # giving is the commonest act
        minutes = data.draw(st.one_of(st.none(), st.integers(-60, 3000)))
        command: object = GiveConsent(
            participant_id=who.id,
            scope=data.draw(st.sampled_from(SCOPES)),
            informed_how=data.draw(st.sampled_from(InformedHow)),
            no_incentive_attested=data.draw(st.sampled_from([True, True, True, False])),
            witnessed_by=data.draw(st.sampled_from([None, PRAC.id])),
            expires_at=None if minutes is None else now + timedelta(minutes=minutes),
            grant_id=data.draw(st.sampled_from([None, *GRANT_IDS])),
        )
    elif kind == 3:
        command = WithdrawGrant(grant_id=data.draw(st.sampled_from(known)), reason=reason)
    elif kind == 4:
        scope = data.draw(st.sampled_from(SCOPES))
        command = WithdrawScope(participant_id=who.id, scope=scope, reason=reason)
    elif kind == 5:
        command = WithdrawAll(participant_id=who.id, reason=reason)
    elif kind == 6:
        command = LapseDueGrants()
    elif kind == 7:
        named = data.draw(
            st.one_of(
                st.none(), st.lists(st.sampled_from(known), min_size=1, max_size=3, unique=True)
            )
        )
        command = ReportIncentive(participant_id=who.id, grant_ids=named, note=reason)
    else:
        actor = data.draw(st.sampled_from([PRAC, PRAC, RP, HP]))
        if data.draw(st.booleans()):
            command = RecordAcknowledgement(responsible_person_id=RP.id, basis="written_statement")
        else:
            command = WithdrawAcknowledgement(responsible_person_id=RP.id, ground="denial")
    return command, actor


def recompute_current(history: History) -> dict[str, tuple[Any, ...]]:
    """Current grants from the raw stored data, sharing no code with the domain's evolve."""
    rows: dict[str, tuple[Any, ...]] = {}
    for event, _ in history:
        data = event.to_data()
        if event.event_type == "ConsentGiven":
            expires = data["expires_at"] and datetime.fromisoformat(data["expires_at"])
            rows.setdefault(
                data["grant_id"],
                (data["participant_id"], data["participant_role"], data["scope"], expires),
            )
        elif event.event_type in ("ConsentWithdrawn", "ConsentInvalidated"):
            for ref in data["grants"]:
                rows.pop(ref["grant_id"], None)
        elif event.event_type == "ConsentLapsed":
            rows.pop(data["grant_id"], None)
    return rows


def ended_ids(event: DomainEvent) -> list[UUID]:
    data = event.to_data()
    if event.event_type in ("ConsentWithdrawn", "ConsentInvalidated"):
        return [UUID(ref["grant_id"]) for ref in data["grants"]]
    if event.event_type == "ConsentLapsed":
        return [UUID(data["grant_id"])]
    return []


def check(state: ConsentState, history: History, stored: History, now: datetime) -> None:
    # (a) the stream, as stored, folds to the state we hold
    assert decider.fold(CASE, stored) == state
    projected = {
        str(r.grant_id): (r.participant_id, str(r.participant_role), r.scope, r.expires_at)
        for r in current_grants(state)
    }
    assert projected == recompute_current(history)

    # (b) an ended grant is never active again, and nothing ends twice
    ended = [gid for event, _ in history for gid in ended_ids(event)]
    assert len(ended) == len(set(ended))
    active = {g.grant_id for g in active_grants(state)}
    assert active.isdisjoint(ended)
    for who in PARTICIPANTS:
        for scope in SCOPES:
            if covers(state, who.id, scope, now):
                assert any(g.scope == scope for g in active_grants(state, who.id, now))

    # (c) R1: only a participant's own act, with no incentive, gives consent
    for event, meta in history:
        if event.event_type == "ConsentGiven":
            assert meta.actor_id == event.participant_id
            assert meta.role in PARTICIPANT_ROLES and event.no_incentive_attested is True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_command_sequences_keep_the_invariants(data: st.DataObject) -> None:
    state, now = decider.initial(CASE), T0
    history: History = []
    stored: History = []  # the same events as the store and Kafka give them back
    for step in range(data.draw(st.integers(1, 40), label="steps")):
        now += timedelta(minutes=data.draw(st.integers(0, 1500)))
        command, actor = draw_step(data, state, now)
        ctx = CommandContext(actor=actor, now=now, correlation_id=UUID(int=10_000 + step))
        try:
            events = decider.decide(state, command, ctx)
        except MendError:
            events = []  # refused: nothing to write
        meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, now)
        for event in events:
            state = decider.evolve(state, event, meta)
            history.append((event, meta))
            raw = event.to_data()
            stored.append((registry.decode(event.event_type, event.schema_version, raw), meta))
        if isinstance(command, LapseDueGrants):
            assert all(g.expires_at is None or g.expires_at > now for g in active_grants(state))
        check(state, history, stored, now)
