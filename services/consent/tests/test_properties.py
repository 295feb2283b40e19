"""Properties over random command sequences, by random actors, at random moments:

(a) a fold over the stored stream (events serialised and decoded, as the store and Kafka see
    them) equals the state evolved step by step, and the current-grants projection equals an
    independent recomputation from the raw event data;
(b) no grant is active after its withdrawal, lapse or invalidation, and none is ended twice;
(c) R1 holds in every history: each grant was given by its own participant, with no incentive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st
from mend_consent import commands as c
from mend_consent.domain import ConsentState, active_grants, covers, current_grants, decider
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import PARTICIPANT_ROLES, Actor, Role
from mend_events.contracts.catalog.consent import PROGRESS_UPDATES, TAKE_PART, InformedHow
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent, registry
from mend_events.errors import MendError

CASE = "case-9c1d2e4f"
HP = Actor(id="hp-3f9a2c", role=Role.HARMED_PERSON, agency="north-rj")
RP = Actor(id="rp-77ab12", role=Role.RESPONSIBLE_PERSON, agency="north-rj")
SUP = Actor(id="sup-5e6f7a", role=Role.SUPPORTER, agency="north-rj")
PRAC = Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency="north-rj")
SYSTEM = Actor(id="sys-consent", role=Role.SYSTEM, agency="north-rj")
PARTICIPANTS = [HP, RP, SUP]
ACTORS = [*PARTICIPANTS, PRAC, SYSTEM]
# Taking part twice: contact and acknowledgement depend on it.
SCOPES = [TAKE_PART, TAKE_PART, "contact:letter", "contact:face_to_face", "share:police-north",
          PROGRESS_UPDATES]  # fmt: skip
# A few client-chosen grant ids, so that retries and reuse of an id happen often.
GRANT_IDS = [UUID(int=n) for n in range(1, 4)]
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

History = list[tuple[DomainEvent, Metadata]]


@dataclass(frozen=True)
class Step:
    """One random act, drawn up front; grants are picked by index among those the case holds
    when the step runs (an index past the end names a grant that does not exist)."""

    advance_minutes: int
    kind: str
    who: Actor
    actor: Actor | None  # None: the participant acts for themself
    scope: str
    informed_how: InformedHow
    no_incentive_attested: bool
    witnessed_by: str | None
    expires_in_minutes: int | None
    grant_id: UUID | None
    picks: tuple[int, ...]
    reason: str | None


KINDS = ["give", "give", "give", "withdraw_grant", "withdraw_scope", "withdraw_all", "lapse",
         "report", "ack", "unack"]  # fmt: skip
STEPS = st.builds(
    Step,
    advance_minutes=st.integers(0, 1500),
    kind=st.sampled_from(KINDS),
    who=st.sampled_from(PARTICIPANTS),
    # Mostly the participant acting for themself, sometimes anyone: refusals must write nothing.
    actor=st.sampled_from([None, None, None, *ACTORS]),
    scope=st.sampled_from(SCOPES),
    informed_how=st.sampled_from(InformedHow),
    no_incentive_attested=st.sampled_from([True, True, True, False]),
    witnessed_by=st.sampled_from([None, PRAC.id]),
    expires_in_minutes=st.one_of(st.none(), st.integers(-60, 3000)),
    grant_id=st.sampled_from([None, *GRANT_IDS]),
    picks=st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True).map(tuple),
    reason=st.sampled_from([None, "", "mine"]),
)


def terms(now: datetime) -> c.ShareTermsBody:
    return c.ShareTermsBody(
        purpose="safeguarding",
        categories=("case_progress",),
        event_types=("CaseOpened",),
        valid_from=now,
        valid_until=now + timedelta(days=30),
    )


def to_command(step: Step, state: ConsentState, now: datetime) -> tuple[object, Actor]:
    known = sorted(state.grants, key=str)
    named = tuple(known[i] if i < len(known) else UUID(int=999 + i) for i in step.picks)
    who, actor = step.who.id, step.actor or step.who
    match step.kind:
        case "give":
            expiry = step.expires_in_minutes
            return c.GiveConsent(
                participant_id=who,
                scope=step.scope,
                informed_how=step.informed_how,
                no_incentive_attested=step.no_incentive_attested,
                witnessed_by=step.witnessed_by,
                expires_at=None if expiry is None else now + timedelta(minutes=expiry),
                grant_id=step.grant_id,
                share_terms=terms(now) if step.scope.startswith("share:") else None,
            ), actor
        case "withdraw_grant":
            return c.WithdrawGrant(grant_id=named[0], reason=step.reason), actor
        case "withdraw_scope":
            return c.WithdrawScope(participant_id=who, scope=step.scope, reason=step.reason), actor
        case "withdraw_all":
            return c.WithdrawAll(participant_id=who, reason=step.reason), actor
        case "lapse":
            return c.LapseDueGrants(), actor
        case "report":
            grants = named if step.witnessed_by else None  # half named, half "all given before"
            return c.ReportIncentive(participant_id=who, grant_ids=grants, note=step.reason), actor
        case "ack":
            body = c.RecordAcknowledgement(responsible_person_id=RP.id, basis="written_statement")
            return body, step.actor or PRAC
    body = c.WithdrawAcknowledgement(responsible_person_id=RP.id, ground="denial")
    return body, step.actor or PRAC


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


# Lengths drawn uniformly: plain lists are mostly short, and the interesting histories are long.
SEQUENCES = st.integers(1, 50).flatmap(lambda n: st.lists(STEPS, min_size=n, max_size=n))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SEQUENCES)
def test_random_command_sequences_keep_the_invariants(steps: list[Step]) -> None:
    state, now = decider.initial(CASE), T0
    history: History = []
    stored: History = []  # the same events as the store and Kafka give them back
    for n, step in enumerate(steps):
        now += timedelta(minutes=step.advance_minutes)
        command, actor = to_command(step, state, now)
        ctx = CommandContext(actor=actor, now=now, correlation_id=UUID(int=10_000 + n))
        try:
            events = decider.decide(state, command, ctx)
        except MendError:
            events = []  # refused: nothing to write
        meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, now)
        for event in events:
            state = decider.evolve(state, event, meta)
            history.append((event, meta))
            event_note(event.event_type)  # shown by --hypothesis-show-statistics
            raw = event.to_data()
            stored.append((registry.decode(event.event_type, event.schema_version, raw), meta))
        if isinstance(command, c.LapseDueGrants):
            assert all(g.expires_at is None or g.expires_at > now for g in active_grants(state))
        check(state, history, stored, now)
