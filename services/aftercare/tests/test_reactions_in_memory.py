"""Aftercare's reactions as command handling on the in-memory event store: the service's
reaction entry points (`offer`, `record_agreement`) fed the RecordedEvents other services'
stores hold, in milliseconds. What decides the harmed person and the agency (the case
directory, consent facts: PostgreSQL, inside the inbox transaction) and the broker stay in
test_api.py."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from mend_aftercare.domain import decider
from mend_aftercare.reactions import root_of
from mend_aftercare.read_models import ConsentFacts
from mend_aftercare.service import AftercareService, commitment_id_for
from mend_events.commands.decider import system_actor
from mend_events.commands.service import CommandService
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import OfferCause
from mend_events.contracts.catalog.consent import ConsentWithdrawn, GrantRef, WithdrawalTarget
from mend_events.contracts.catalog.sessions import (
    AgreedCommitment,
    AgreementItem,
    AgreementReached,
    HaltCause,
    SessionHalted,
)
from mend_events.contracts.envelope import Metadata, NewEvent, RecordedEvent
from mend_events.contracts.events import DomainEvent
from mend_events.security.cases import CaseDirectory
from mend_events.store import InMemoryEventStore
from mend_testkit.samples import envelope_metadata

CASE = "case-9c1d2e4f"
HP, RP, AGENCY = "hp-3f9a2c", "rp-77ab12", "north-rj"


def meta(actor: str, role: Role, causation: UUID | None = None) -> Metadata:
    return envelope_metadata(actor, role, AGENCY, causation)


class Elsewhere:
    """Other services' stores: the events aftercare consumes, as their stores record them."""

    def __init__(self) -> None:
        self.consent = InMemoryEventStore("consent")
        self.sessions = InMemoryEventStore("sessions")

    async def record(
        self, store: InMemoryEventStore, event: DomainEvent, metadata: Metadata
    ) -> RecordedEvent:
        version = len(await store.read_stream(CASE))
        await store.append(CASE, [NewEvent(uuid4(), event, metadata)], expected_version=version)
        return (await store.read_stream(CASE))[-1]

    async def withdrawal(self) -> RecordedEvent:
        withdrawn = ConsentWithdrawn(
            participant_id=HP,
            target=WithdrawalTarget.EVERYTHING,
            grants=(GrantRef(grant_id=uuid4(), scope="take_part"),),
        )
        return await self.record(self.consent, withdrawn, meta(HP, Role.HARMED_PERSON))

    async def halt(self, cause: RecordedEvent | None) -> RecordedEvent:
        halted = SessionHalted(
            session_id="sess-1a2b3c",
            halted_by_id=None if cause else HP,
            halted_by_role=Role.SYSTEM if cause else Role.HARMED_PERSON,
            cause=HaltCause.CONSENT_WITHDRAWN if cause else HaltCause.PARTICIPANT_HALT,
            cause_event_id=cause.event_id if cause else None,
        )
        by = meta("svc-sessions", Role.SYSTEM, cause.event_id if cause else None)
        return await self.record(self.sessions, halted, by)

    async def agreement(self) -> RecordedEvent:
        reached = AgreementReached(
            session_id="sess-1a2b3c",
            items=(
                AgreementItem(owner_id=RP, commitment=AgreedCommitment.WRITTEN_ACCOUNT),
                AgreementItem(
                    owner_id=RP, commitment=AgreedCommitment.NO_CONTACT, due_on=date(2027, 1, 1)
                ),
            ),
            consented_by=(HP, RP),
        )
        return await self.record(self.sessions, reached, meta("prac-1a2b3c", Role.PRACTITIONER))


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore("aftercare")


@pytest.fixture
def service(store) -> AftercareService:
    # The directory and the consent facts are read on PostgreSQL; the paths here never do.
    return AftercareService(store, CaseDirectory("aftercare"), ConsentFacts("aftercare"))


async def offered(store: InMemoryEventStore) -> list[RecordedEvent]:
    return [e for e in await store.read_stream(CASE) if e.event_type == "AftercareOffered"]


async def test_a_withdrawal_offers_after_care_once_as_the_service(service, store):
    withdrawal = await Elsewhere().withdrawal()
    first = await service.offer(withdrawal, HP, OfferCause.CONSENT_WITHDRAWN, AGENCY)
    again = await service.offer(withdrawal, HP, OfferCause.CONSENT_WITHDRAWN, AGENCY)
    assert len(first.events) == 1 and again.events == ()
    (offer,) = await offered(store)
    assert offer.metadata.actor_id == system_actor("aftercare", offer.metadata.agency).id
    assert offer.metadata.role is Role.SYSTEM
    assert offer.metadata.causation_id == withdrawal.event_id
    assert offer.metadata.correlation_id == withdrawal.metadata.correlation_id
    assert offer.data["cause_event_id"] == str(withdrawal.event_id)


@pytest.mark.parametrize("halt_first", [False, True])
async def test_a_withdrawal_and_the_halt_it_caused_give_one_offer_in_either_order(
    service, store, halt_first
):
    elsewhere = Elsewhere()
    withdrawal = await elsewhere.withdrawal()
    halt = await elsewhere.halt(cause=withdrawal)
    assert root_of(halt) == withdrawal.event_id
    steps = [
        (withdrawal, OfferCause.CONSENT_WITHDRAWN, None),
        (halt, OfferCause.SESSION_HALTED, root_of(halt)),
    ]
    for cause, kind, root in reversed(steps) if halt_first else steps:
        await service.offer(cause, HP, kind, AGENCY, root)
    assert len(await offered(store)) == 1


async def test_an_unrelated_halt_is_another_offer(service, store):
    elsewhere = Elsewhere()
    withdrawal = await elsewhere.withdrawal()
    await service.offer(withdrawal, HP, OfferCause.CONSENT_WITHDRAWN, AGENCY)
    halt = await elsewhere.halt(cause=None)
    result = await service.offer(halt, HP, OfferCause.SESSION_HALTED, AGENCY, root_of(halt))
    assert len(result.events) == 1 and len(await offered(store)) == 2


async def test_an_agreement_records_one_commitment_per_item_once(service, store):
    agreement = await Elsewhere().agreement()
    assert await service.record_agreement(agreement, AGENCY) == 2
    assert await service.record_agreement(agreement, AGENCY) == 0  # a redelivery
    recorded = await store.read_stream(CASE)
    assert [e.data["commitment_id"] for e in recorded] == [
        str(commitment_id_for(agreement.event_id, i)) for i in range(2)
    ]
    state, version = await CommandService(store, decider).load(CASE)
    assert version == 2 and set(state.commitments) == {
        commitment_id_for(agreement.event_id, i) for i in range(2)
    }
