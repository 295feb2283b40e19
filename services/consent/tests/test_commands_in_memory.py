"""The consent service's command handling (CommandService + decider + store) on the in-memory
event store: the same code path as the API's, in milliseconds. The store answers as the
PostgreSQL one does (libs/events/tests/store_contract.py); test_api.py covers the real store,
HTTP and the broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from mend_consent.commands import GiveConsent, WithdrawAll, WithdrawGrant
from mend_consent.domain import ConsentState, GrantStatus, decider
from mend_events.commands.decider import CommandContext
from mend_events.commands.idempotency import RequestKey
from mend_events.commands.service import CommandService
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.consent import (
    TAKE_PART,
    ConsentGiven,
    ConsentWithdrawn,
    InformedHow,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Conflict, NotFound
from mend_events.security.crypto import AgencyKeys, FieldSealer, InMemoryKeyStore, is_sealed
from mend_events.store import InMemoryEventStore, KeyReused

CASE = "case-9c1d2e4f"
HP = Actor(id="hp-3f9a2c", role=Role.HARMED_PERSON, agency="north-rj")
OTHER = Actor(id="hp-0b0b0b", role=Role.HARMED_PERSON, agency="north-rj")
PRAC = Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency="north-rj")
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def ctx(actor: Actor = HP, at: datetime = T0) -> CommandContext:
    return CommandContext(actor=actor, now=at, correlation_id=uuid4())


def give() -> GiveConsent:
    return GiveConsent(
        participant_id=HP.id,
        scope=TAKE_PART,
        informed_how=InformedHow.BOTH,
        no_incentive_attested=True,
    )


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore("consent")


@pytest.fixture
def commands(store) -> CommandService[ConsentState]:
    return CommandService(store, decider)


async def granted(commands) -> ConsentGiven:
    result = await commands.execute(CASE, give(), ctx())
    (given,) = [n.event for n in result.events]
    return given


async def test_a_withdrawal_is_recorded_after_the_grant_and_folds_back(commands, store):
    given = await granted(commands)
    result = await commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id), ctx())
    assert result.version == 2
    assert result.state.grants[given.grant_id].status is GrantStatus.WITHDRAWN
    events = await store.read_stream(CASE)
    assert [e.event_type for e in events] == ["ConsentGiven", "ConsentWithdrawn"]
    assert events[1].metadata.actor_id == HP.id and events[1].metadata.agency == "north-rj"
    assert await store.stream_agency(CASE) == "north-rj"
    # Another process (a fresh service on the same store) folds the same state.
    state, version = await CommandService(store, decider).load(CASE)
    assert version == 2 and state.grants[given.grant_id].status is GrantStatus.WITHDRAWN
    assert await store.verify() == []


async def test_two_withdrawals_at_once_give_one_event_and_no_error(commands, store):
    """R2: a withdrawal is always accepted; the second finds nothing left to end."""
    given = await granted(commands)
    other_process = CommandService(store, decider)
    results = await asyncio.gather(
        commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id), ctx()),
        other_process.execute(CASE, WithdrawAll(participant_id=HP.id), ctx(PRAC)),
    )
    assert sorted(len(r.events) for r in results) == [0, 1]
    assert [e.event_type for e in await store.read_stream(CASE)][1:] == ["ConsentWithdrawn"]


async def test_a_write_by_another_process_is_decided_again_not_refused(commands, store):
    given = await granted(commands)
    await commands.load(CASE)  # this process caches version 1
    await CommandService(store, decider).execute(CASE, WithdrawAll(participant_id=HP.id), ctx())
    result = await commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id), ctx())
    assert result.events == () and result.version == 2


async def test_a_named_expected_version_that_is_stale_is_a_conflict(commands):
    given = await granted(commands)
    with pytest.raises(Conflict):
        await commands.execute(
            CASE, WithdrawGrant(grant_id=given.grant_id), ctx(), expected_version=0
        )


async def test_a_retried_request_writes_nothing_twice_and_a_reused_key_is_refused(commands, store):
    given = await granted(commands)
    key = RequestKey("key-1", "digest-of-the-withdrawal")
    withdraw = WithdrawGrant(grant_id=given.grant_id)
    first = await commands.execute(CASE, withdraw, ctx(), idempotency_key=key)
    again = await commands.execute(CASE, withdraw, ctx(), idempotency_key=key)
    assert first.events and not again.events and again.positions == first.positions
    with pytest.raises(KeyReused):
        await commands.execute(
            CASE, give(), ctx(), idempotency_key=RequestKey("key-1", "another-request")
        )
    assert len(await store.read_stream(CASE)) == 2


async def test_someone_elses_grant_is_not_found_and_nothing_is_written(commands, store):
    given = await granted(commands)
    with pytest.raises(NotFound):
        await commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id), ctx(OTHER))
    assert len(await store.read_stream(CASE)) == 1


async def test_the_state_as_of_a_moment(commands, store):
    given = await granted(commands)
    (first,) = await store.read_stream(CASE)
    await asyncio.sleep(0.002)
    await commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id), ctx())
    then, version = await commands.load(CASE, as_of=first.recorded_at)
    assert version == 1 and then.grants[given.grant_id].status is GrantStatus.ACTIVE


async def open_reason(sealer: FieldSealer, stored: RecordedEvent) -> dict:
    return await sealer.open_event_data(
        stored.data,
        event_type=stored.event_type,
        schema_version=stored.schema_version,
        agency=stored.metadata.agency,
        stream_id=CASE,
        event_id=stored.event_id,
        actor_id=HP.id,
        personal_owner="participant_id",
    )


async def test_a_reason_is_stored_sealed_and_opens_for_its_owner(store):
    sealer = FieldSealer(InMemoryKeyStore(), AgencyKeys(master_key=bytes(range(32))))
    store.sealer = sealer
    commands = CommandService(store, decider)
    given = await granted(commands)
    reason = "I no longer feel safe"
    await commands.execute(CASE, WithdrawGrant(grant_id=given.grant_id, reason=reason), ctx())
    stored = (await store.read_stream(CASE))[1]
    assert is_sealed(stored.data["reason"]) and reason not in str(stored.data)
    assert isinstance(stored.decode(), ConsentWithdrawn)
    opened = await open_reason(sealer, stored)
    assert opened["reason"] == reason
    await sealer.shred(HP.id)
    erased = await open_reason(sealer, stored)
    assert erased["reason"] is None and await store.verify() == []
