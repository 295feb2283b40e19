"""The aftercare service's application layer: commands through the domain, facts from other
services read from the read models at the moment of deciding, and the views each role may see.
HTTP-free and SQL-free, so reactions and tests use it directly. The progress-update outbox is
worked off by its sender (delivery.py), which the service holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import CommitmentCode, OfferCause, PlanRole
from mend_events.contracts.catalog.consent import OUTCOME_RESEARCH
from mend_events.contracts.catalog.sessions import AgreedCommitment as AgreedCode
from mend_events.contracts.catalog.sessions import AgreementReached
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Rejected
from mend_events.security.cases import CaseDirectory, CaseEntry, KnowsCases
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.store import EventStore

from mend_aftercare import commands as c
from mend_aftercare.conferences import Conferences
from mend_aftercare.delivery import SERVICE, OnDelivered, UpdateSender, log_delivery
from mend_aftercare.domain import decider, views
from mend_aftercare.domain.state import AftercareState
from mend_aftercare.read_models import ConsentFacts, ProgressOutbox

log = structlog.get_logger("mend.aftercare")

_COMMITMENT_IDS = uuid5(NAMESPACE_URL, "https://mend.example/aftercare/commitments")

# The sessions service's agreement codes, in aftercare's words.
COMMITMENT_CODES: dict[AgreedCode, CommitmentCode] = {
    AgreedCode.THERAPEUTIC_TREATMENT: CommitmentCode.THERAPEUTIC_TREATMENT,
    AgreedCode.BEHAVIOUR_PROGRAMME: CommitmentCode.BEHAVIOUR_CHANGE_PROGRAMME,
    AgreedCode.FAMILY_ARRANGEMENT: CommitmentCode.FAMILY_ARRANGEMENT,
    AgreedCode.CONTACT_ARRANGEMENT: CommitmentCode.CONTACT_ARRANGEMENT,
    AgreedCode.NO_CONTACT: CommitmentCode.NO_CONTACT,
    AgreedCode.WRITTEN_ACCOUNT: CommitmentCode.WRITTEN_ACCOUNT,
    AgreedCode.REPARATION: CommitmentCode.REPARATION,
    AgreedCode.OTHER: CommitmentCode.OTHER,
}


def commitment_id_for(agreement_event_id: UUID, index: int) -> UUID:
    return uuid5(_COMMITMENT_IDS, f"{agreement_event_id}/{index}")


class AftercareService(KnowsCases):
    def __init__(
        self,
        store: EventStore,
        directory: CaseDirectory,
        consent: ConsentFacts,
        *,
        delivery_hold: float = 0.0,
        on_delivered: OnDelivered | None = None,
        sealer: FieldSealer | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.consent = consent
        self.outbox = ProgressOutbox(store.schema)
        self.commands: CommandService[AftercareState] = CommandService(store, decider)
        self.sender = UpdateSender(
            store.pool,
            self.commands,
            self.outbox,
            consent,
            self.case_agency,
            timedelta(seconds=delivery_hold),
            on_delivered or log_delivery,
        )
        self.conferences = Conferences(self, sealer)  # community team conferences (issue 21)

    @property
    def schema(self) -> str:
        return self.store.schema

    # --- who is who ---------------------------------------------------------------------------

    async def harmed_person(self, case_id: str, state: AftercareState) -> str | None:
        """The case's harmed person: fixed by aftercare's own stream, else by its opening."""
        if state.harmed_person_id is not None:
            return state.harmed_person_id
        entry = await self.case(case_id, wait=0)
        return entry.harmed_person_id if entry else None

    @staticmethod
    def subject(entry: CaseEntry | None, identity: Identity) -> str | None:
        """The caller's own person id if they take part in this case in the role they claim
        (only the case's own events make anyone a participant), else None, so the policy's
        `own_record` never holds for a stranger with the same role."""
        me = identity.person_id
        return me if entry is not None and entry.is_member(me, identity.role) else None

    async def consent_in_force(self, case_id: str, participant_id: str, scope: str) -> bool:
        async with self.store.pool.acquire() as conn:
            return await self.consent.in_force(
                conn, case_id, participant_id, scope, datetime.now(UTC)
            )

    # --- reactions (a SYSTEM actor; the cause is the causation id) ----------------------------

    async def offer(
        self,
        cause_event: RecordedEvent,
        harmed_person_id: str,
        cause: OfferCause,
        agency: str,
        root: UUID | None = None,
    ) -> CommandResult[AftercareState]:
        """One AftercareOffered per cause chain (`root`: the event that began the chain, when
        not the cause itself): the derived event id and the domain's one-offer-per-chain rule
        make a redelivered or replayed cause, or another link of an offered chain, write
        nothing."""
        command = c.OfferAftercare(
            harmed_person_id=harmed_person_id,
            cause=cause,
            cause_event_id=cause_event.event_id,
            root_cause_event_id=root if root != cause_event.event_id else None,
        )
        ctx = system_context(SERVICE, agency, cause_event, now=datetime.now(UTC))
        return await self.commands.execute(cause_event.case_id, command, ctx)

    async def record_agreement(self, cause_event: RecordedEvent, agency: str) -> int:
        """One CommitmentRecorded per agreement item; ids derived from the agreement's event."""
        agreement = cause_event.decode()
        assert isinstance(agreement, AgreementReached)
        ctx = system_context(SERVICE, agency, cause_event, now=datetime.now(UTC))
        written = 0
        for index, item in enumerate(agreement.items):
            command = c.RecordCommitment(
                commitment_id=commitment_id_for(cause_event.event_id, index),
                owner_id=item.owner_id,
                code=COMMITMENT_CODES.get(item.commitment, CommitmentCode.OTHER),
                due_on=item.due_on,
                source_agreement_event_id=cause_event.event_id,
            )
            # One key per item: the items share one cause, and each needs its own event id.
            key = f"agreement:{cause_event.event_id}:{index}"
            result = await self.commands.execute(
                cause_event.case_id, command, ctx, idempotency_key=key
            )
            written += len(result.events)
        return written

    # --- commands that need a fact from another service ---------------------------------------

    async def record_outcome(
        self,
        case_id: str,
        answer: c.OutcomeMeasureAnswer,
        ctx: CommandContext,
        idempotency_key: str | None = None,
    ) -> CommandResult[AftercareState]:
        """Research consent comes from the consent projection now, never from the request."""
        state, _ = await self.commands.load(case_id)
        person = await self.harmed_person(case_id, state)
        return await self._under_research_consent(
            case_id, person, lambda consent: c.with_research_consent(answer, consent), ctx,
            idempotency_key,
        )  # fmt: skip

    async def answer_instrument(
        self,
        case_id: str,
        answers: c.InstrumentAnswers,
        ctx: CommandContext,
        idempotency_key: str | None = None,
    ) -> CommandResult[AftercareState]:
        """The person's role in the case and their research consent come from the directory
        and the consent projection now, never from the request."""
        state, _ = await self.commands.load(case_id)
        about = answers.about_id
        if about == await self.harmed_person(case_id, state):
            role = PlanRole.HARMED_PERSON
        else:
            async with self.store.pool.acquire() as conn:
                known = await self.consent.role_of(conn, case_id, about)
            if known != Role.RESPONSIBLE_PERSON:
                raise Rejected(
                    "names no harmed or responsible person of this case", field="about_id"
                )
            role = PlanRole.RESPONSIBLE_PERSON
        return await self._under_research_consent(
            case_id, about,
            lambda consent: c.AnswerInstrument(
                **answers.model_dump(), about_role=role, research_consent=consent
            ),
            ctx, idempotency_key,
        )  # fmt: skip

    async def _under_research_consent(
        self,
        case_id: str,
        person: str | None,
        build: Callable[[bool], Any],
        ctx: CommandContext,
        idempotency_key: str | None,
    ) -> CommandResult[AftercareState]:
        """Decide with the person's research consent as it stands, holding their consent row
        FOR SHARE until the answer is appended: a withdrawal committing in between would
        otherwise let an answer in after it (R2), as for progress updates (read_models.py)."""
        async with self.store.pool.acquire() as conn, conn.transaction():
            consent = person is not None and await self.consent.in_force(
                conn, case_id, person, OUTCOME_RESEARCH, datetime.now(UTC), lock=True
            )
            command = build(consent)
            return await self.commands.execute(
                case_id, command, ctx, idempotency_key=idempotency_key
            )

    # --- the progress-update outbox (delivery.py) ---------------------------------------------

    @property
    def on_delivered(self) -> OnDelivered:
        return self.sender.on_delivered

    @on_delivered.setter
    def on_delivered(self, channel: OnDelivered) -> None:
        self.sender.on_delivered = channel

    async def process_updates(self) -> tuple[int, int]:
        """Decide pending share requests, then deliver what is due: (shared, delivered)."""
        return await self.sender.process_updates()

    async def share_pending(self, limit: int = 200) -> int:
        return await self.sender.share_pending(limit)

    async def deliver_pending(self) -> int:
        return await self.sender.deliver_pending()

    # --- reads ------------------------------------------------------------------------------------

    async def delivered_updates(self, case_id: str, harmed_person_id: str) -> list[dict]:
        """What reached the harmed person: sent deliveries only, codes and times."""
        state, _ = await self.commands.load(case_id)
        async with self.store.pool.acquire() as conn:
            rows = await self.outbox.sent_to(conn, case_id, harmed_person_id)
        out = []
        for r in rows:
            commitment = state.commitments.get(r["commitment_id"])
            out.append(
                {
                    "delivery_id": str(r["delivery_id"]),
                    "commitment_id": str(r["commitment_id"]),
                    "commitment": str(commitment.code) if commitment else None,
                    "status": r["status"],
                    "delivered_at": r["decided_at"],
                }
            )
        return out

    async def deliveries(self, case_id: str) -> list[dict]:
        """Every delivery with its outcome (for auditors: it shows consent at delivery)."""
        async with self.store.pool.acquire() as conn:
            rows = await self.outbox.of_case(conn, case_id)
        return [
            {
                **dict(r),
                "delivery_id": str(r["delivery_id"]),
                "commitment_id": str(r["commitment_id"]),
            }
            for r in rows
        ]

    async def view(self, case_id: str, identity: Identity, state: AftercareState) -> dict:
        """The case's aftercare as this caller may see it (access.py decided they may)."""
        if identity.role is Role.AUDITOR:
            return {
                **views.staff_view(state),
                "update_level": str(state.update_level),
                "shared_revisions": {
                    str(k): x.shared_revision for k, x in state.commitments.items()
                },
                "outcomes": views.outcomes(state, scores=True),
                "deliveries": await self.deliveries(case_id),
            }
        if identity.role is Role.PRACTITIONER:
            return views.staff_view(state)
        if identity.role is Role.HARMED_PERSON:
            return views.harmed_person_view(state, identity.person_id)
        return views.responsible_person_view(state, identity.person_id)
