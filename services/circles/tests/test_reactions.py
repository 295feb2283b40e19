"""The consent reaction on the real database, with consent events delivered to its handler as
the inbox consumer hands them over (inside a transaction): a redelivered lapse halts once; a
withdrawn acknowledgement halts a responsible person in a blended circle; a withdrawal that
meets a join in flight waits for it and halts it (the grant row's lock)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from bus_helpers import wait_until
from mend_circles import commands as c
from mend_circles.app import build
from mend_circles.reactions import Reactions
from mend_circles.read_models import CircleConsent, CircleIndex
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.consent import (
    AcknowledgementBasis,
    AcknowledgementRecorded,
    AcknowledgementWithdrawalGround,
    AcknowledgementWithdrawn,
    ConsentLapsed,
    ConsentWithdrawn,
    GrantRef,
    WithdrawalTarget,
    circle_scope,
)
from mend_events.security.cases import CaseDirectory
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.samples import consent_given, delivered

FAC, HP, RP, HP2 = "prac-fac001", "hp-ann001", "rp-rob002", "hp-bea003"
CASE_1, CASE_2, CASE_3 = "case-aaaa0001", "case-aaaa0002", "case-aaaa0003"
CIRCLE = "circle-blend001"


@pytest.fixture
async def circles(platform, unique, topic_prefix):
    async with running_service(build, "circles", platform, unique, topic_prefix) as running:
        _, app, runtime = running
        await open_case(runtime, CASE_1, HP)
        await open_case(runtime, CASE_2, "hp-zzz002", members={RP: "responsible_person"})
        await open_case(runtime, CASE_3, HP2)
        for case in (CASE_1, CASE_2, CASE_3):
            await allocate([runtime], case, FAC)
        schema = runtime.schema
        reactions = Reactions(lambda: app.state.service, CaseDirectory(schema),
                              CircleConsent(schema), CircleIndex(schema))  # fmt: skip
        yield running, reactions


async def deliver(runtime, reactions: Reactions, event) -> None:
    async with runtime.pool.acquire() as conn, conn.transaction():
        await reactions.on_consent(conn, event)


async def blended_circle(client, token, runtime, reactions, people) -> dict[str, UUID]:
    """A blended circle with `people` (person -> case) in it, each under a circle grant."""
    fac = token("practitioner", FAC)
    r = await client.post(f"/circles/{CIRCLE}/form", json={"kind": "blended"}, headers=fac)
    assert r.status_code == 201
    grants = {}
    for person, case in people.items():
        role = Role.RESPONSIBLE_PERSON if person.startswith("rp-") else Role.HARMED_PERSON
        r = await client.post(f"/circles/{CIRCLE}/invitations",
                              json={"person_id": person, "case_id": case}, headers=fac)  # fmt: skip
        assert r.status_code == 201, r.text
        given = consent_given(person, role, circle_scope(CIRCLE))
        await deliver(
            runtime, reactions, delivered("consent", case, given, actor=person, role=role)
        )
        grants[person] = given.grant_id
    return grants


async def standing(client, token, person: str) -> str:
    r = await client.get(f"/circles/{CIRCLE}", headers=token("practitioner", FAC))
    return next(m["standing"] for m in r.json()["members"] if m["person_id"] == person)


async def test_a_lapse_redelivered_halts_once_and_a_lost_acknowledgement_halts(circles, token):
    (client, _, runtime), reactions = circles
    grants = await blended_circle(client, token, runtime, reactions, {HP: CASE_1, RP: CASE_2})
    rp = token("responsible_person", RP)
    r = await client.post(f"/circles/{CIRCLE}/membership", headers=rp)
    assert r.status_code == 422 and r.json()["field"] == "acknowledgement"
    ack = AcknowledgementRecorded(
        responsible_person_id=RP, basis=AcknowledgementBasis.WRITTEN_STATEMENT
    )
    await deliver(
        runtime, reactions, delivered("consent", CASE_2, ack, actor=FAC, role=Role.PRACTITIONER)
    )
    for headers in (token("harmed_person", HP), rp):
        r = await client.post(f"/circles/{CIRCLE}/membership", headers=headers)
        assert r.status_code == 201, r.text
    await runtime.settle()  # the circle index knows who is in (the acknowledgement halt asks it)

    lapse = delivered("consent", CASE_1, ConsentLapsed(
        grant_id=grants[HP], participant_id=HP, scope=circle_scope(CIRCLE),
        expired_at="2026-01-01T00:00:00+00:00"), actor="svc-consent", role=Role.SYSTEM)  # fmt: skip
    for _ in range(2):  # a redelivery
        await deliver(runtime, reactions, lapse)
    assert await standing(client, token, HP) == "halted"

    denial = AcknowledgementWithdrawn(responsible_person_id=RP,
                                      ground=AcknowledgementWithdrawalGround.DENIAL)  # fmt: skip
    withdrawn = delivered("consent", CASE_2, denial, actor=FAC, role=Role.PRACTITIONER)
    await deliver(runtime, reactions, withdrawn)
    assert await standing(client, token, RP) == "halted"

    halts = [e for e in await runtime.store.read_stream(CIRCLE)
             if e.event_type == "MemberParticipationHalted"]  # fmt: skip
    assert [(e.data["person_id"], e.data["cause"], e.metadata.causation_id) for e in halts] == [
        (HP, "consent_lapsed", lapse.event_id),
        (RP, "acknowledgement_withdrawn", withdrawn.event_id),
    ]


async def test_a_withdrawal_meeting_a_join_in_flight_waits_for_it_and_halts_it(circles, token):
    (client, app, runtime), reactions = circles
    grants = await blended_circle(client, token, runtime, reactions, {HP2: CASE_3})
    service = app.state.service
    consent = CircleConsent(runtime.schema)
    withdrawal = delivered("consent", CASE_3, ConsentWithdrawn(
        participant_id=HP2, target=WithdrawalTarget.SCOPE, scope=circle_scope(CIRCLE),
        grants=(GrantRef(grant_id=grants[HP2], scope=circle_scope(CIRCLE)),)),
        actor=HP2, role=Role.HARMED_PERSON)  # fmt: skip
    actor = Actor(id=HP2, role=Role.HARMED_PERSON, agency="agency-a")
    ctx = CommandContext(actor=actor, now=withdrawal.metadata.occurred_at,
                         correlation_id=withdrawal.metadata.correlation_id)  # fmt: skip
    async with runtime.pool.acquire() as conn, conn.transaction():
        # The join's first half (service.join): its grant read FOR SHARE, held.
        grant = await consent.grant_in_force(conn, CIRCLE, CASE_3, HP2, ctx.now)
        assert grant == grants[HP2]
        task = asyncio.create_task(deliver(runtime, reactions, withdrawal))

        holder = conn.get_server_pid()

        async def waiting_on_the_grant() -> bool:
            # Blocked by this transaction, not any lock wait on the server: another test (a
            # parallel worker's, on its own schema) may be waiting on a grant of its own.
            return bool(await runtime.pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%circle_grants SET ended_by%' "
                "AND $1 = ANY(pg_blocking_pids(pid))", holder))  # fmt: skip

        await wait_until(waiting_on_the_grant)
        assert not task.done()
        cmd = c.JoinCircle(grant_id=grant)
        joined = await service.commands.execute(CIRCLE, cmd, ctx, conn=conn)
        assert [e.event_type for e in joined.events] == ["MemberJoined"]
    await task  # the withdrawal went on once the join committed, and found her in
    assert await standing(client, token, HP2) == "halted"
