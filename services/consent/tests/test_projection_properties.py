"""Property, on the real database: after any random sequence of consent commands, the stored
current-grants projection equals a fold over the case's stream, and no grant whose
withdrawal, lapse or invalidation was recorded is in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mend_consent.app import build
from mend_consent.commands import (
    GiveConsent,
    LapseDueGrants,
    ReportIncentive,
    WithdrawAll,
    WithdrawGrant,
    WithdrawScope,
)
from mend_consent.domain import current_grants
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.consent import InformedHow
from mend_events.errors import MendError
from mend_testkit.fixtures import service_fixture

PEOPLE = [
    Actor(id="hp-prop0001", role=Role.HARMED_PERSON, agency="agency-a"),
    Actor(id="rp-prop0001", role=Role.RESPONSIBLE_PERSON, agency="agency-a"),
]
PRAC = Actor(id="prac-prop001", role=Role.PRACTITIONER, agency="agency-a")
SCOPES = ["take_part", "contact:letter", "contact:face_to_face", "progress_updates"]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

STEP = st.tuples(
    st.sampled_from(
        ["give", "give", "withdraw_grant", "withdraw_scope", "withdraw_all", "report", "lapse"]
    ),
    st.integers(0, 1),
    st.sampled_from(SCOPES),
    st.integers(0, 5),
    st.integers(0, 90),
    st.one_of(st.none(), st.integers(1, 120)),
)


# The lapse sweep left to the tests (an hour apart).
consent = service_fixture(build, "consent", lapse_interval=3600)


def command_for(kind, person, scope, pick, expires_in, grants, now):
    if kind == "give":
        expires = now + timedelta(minutes=expires_in) if expires_in else None
        return GiveConsent(
            participant_id=person.id,
            scope=scope,
            informed_how=InformedHow.BOTH,
            no_incentive_attested=True,
            expires_at=expires,
            grant_id=uuid.uuid4(),
        )
    if kind == "withdraw_grant":
        return WithdrawGrant(grant_id=grants[pick % len(grants)] if grants else uuid.uuid4())
    if kind == "withdraw_scope":
        return WithdrawScope(participant_id=person.id, scope=scope)
    if kind == "withdraw_all":
        return WithdrawAll(participant_id=person.id)
    if kind == "report":
        return ReportIncentive(participant_id=person.id)
    return LapseDueGrants()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, min_size=1, max_size=14))
async def test_projection_equals_fold(consent, steps):
    _, app, runtime = consent
    service = app.state.service
    case = f"case-p{uuid.uuid4().hex[:10]}"
    now = T0
    for kind, who, scope, pick, advance, expires_in in steps:
        now += timedelta(minutes=advance)
        person = PEOPLE[who]
        actor = PRAC if kind in ("report", "lapse") else person
        state, _ = await service.commands.load(case)
        grants = sorted(state.grants, key=str)
        command = command_for(kind, person, scope, pick, expires_in, grants, now)
        ctx = CommandContext(actor=actor, now=now, correlation_id=uuid.uuid4())
        try:
            await service.commands.execute(case, command, ctx)
        except MendError:
            pass  # a refused command writes nothing; the property covers what was written
    await runtime.settle()
    fold, _ = await service.commands.load(case)
    expected = {(str(g.grant_id), g.participant_id, g.scope) for g in current_grants(fold)}
    rows = await service.current_grants(case, None)
    assert {(str(r["grant_id"]), r["participant_id"], r["scope"]) for r in rows} == expected
    ended = {g for g, grant in fold.grants.items() if grant.status.value != "active"}
    assert not ended & {r["grant_id"] for r in rows}
