"""The aftercare service's application layer: commands through the domain, facts from other
services read from the projections at the moment of deciding, the progress-update outbox, and
the views each role may see. HTTP-free, so reactions and tests use it directly.

Progress updates reach the harmed person in three steps, each after the previous commit:
1. a commitment status change (an aftercare event) becomes a share request (`ProgressOutbox`);
2. `share_pending` decides `ShareProgressUpdate` with `updates_consented_at_now` read from the
   consent projection; the domain stays silent unless consent, preference and state allow it;
3. `deliver_pending` releases each ProgressUpdateShared, one delivery per transaction: it locks
   the delivery row, locks the harmed person's consent row FOR SHARE and checks the
   progress_updates grant again (and the preference and closure), then marks the delivery `sent`
   or `withheld` in that same transaction. A withdrawal applied by the consent consumer takes
   the same row lock (projections.py), so it either commits before the check (withheld) or
   waits until the delivery committed (which then came first). Only `sent` deliveries are ever
   shown to the harmed person, and `on_delivered` (the channel) runs only after that commit.
   A delivery also waits `delivery_hold` seconds after its decision, so a withdrawal recorded in
   the consent service just before it has time to arrive over the broker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from mend_events.application import CommandResult, CommandService
from mend_events.cases import CaseDirectory, CaseEntry
from mend_events.catalog.aftercare import CommitmentCode, CommitmentStatus, OfferCause
from mend_events.catalog.consent import OUTCOME_RESEARCH, PROGRESS_UPDATES
from mend_events.catalog.sessions import AgreementReached
from mend_events.catalog.sessions import CommitmentCode as AgreedCode
from mend_events.consumer import describe_error
from mend_events.decider import CommandContext
from mend_events.envelope import RecordedEvent
from mend_events.errors import MendError
from mend_events.identity import Identity
from mend_events.identity_types import Actor, Role
from mend_events.store import EventStore

from mend_aftercare import commands as c
from mend_aftercare.domain import LEVEL_SHARES, decider
from mend_aftercare.projections import ConsentFacts
from mend_aftercare.report import commissioners_report
from mend_aftercare.state import AftercareState

log = structlog.get_logger("mend.aftercare")

SYSTEM_ID = "svc-aftercare"
UNKNOWN_AGENCY = "unknown-agency"
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


class Withheld:
    """Why a delivery was withheld (recorded on the delivery; shown to auditors only)."""

    NO_CONSENT = "consent_not_in_force"
    PREFERENCE = "preference"
    CLOSED = "aftercare_closed"
    RECIPIENT = "not_the_harmed_person"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A progress update released to the harmed person: ids and codes only."""

    delivery_id: UUID
    case_id: str
    harmed_person_id: str
    commitment_id: UUID
    status: str
    commitment_revision: int


OnDelivered = Callable[[Delivery], Awaitable[None]]


async def log_delivery(delivery: Delivery) -> None:
    """The default channel: a log line with ids only. A real channel (e.g. a message through
    the harmed person's practitioner) replaces it."""
    log.info(
        "aftercare.progress_update_delivered",
        delivery_id=str(delivery.delivery_id),
        case_id=delivery.case_id,
    )


def commitment_id_for(agreement_event_id: UUID, index: int) -> UUID:
    return uuid5(_COMMITMENT_IDS, f"{agreement_event_id}/{index}")


class AftercareService:
    def __init__(
        self,
        store: EventStore,
        directory: CaseDirectory,
        consent: ConsentFacts,
        *,
        delivery_hold: float = 0.0,
        on_delivered: OnDelivered | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.consent = consent
        self.commands: CommandService[AftercareState] = CommandService(store, decider)
        self.delivery_hold = timedelta(seconds=delivery_hold)
        self.on_delivered = on_delivered or log_delivery

    @property
    def schema(self) -> str:
        return self.store.schema

    # --- who is who ---------------------------------------------------------------------------

    async def case(self, case_id: str, *, wait: float | None = None) -> CaseEntry | None:
        """The case as its opening and enrolments made it known here (None: not yet, after
        waiting the bounded lag); never whoever wrote to it first."""
        return await self.directory.find(self.store.pool, case_id, wait=wait)

    async def case_agency(self, case_id: str) -> str | None:
        entry = await self.case(case_id, wait=0)
        return entry.agency if entry else None

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

    @staticmethod
    def system_context(agency: str, cause: RecordedEvent) -> CommandContext:
        return CommandContext(
            actor=Actor(id=SYSTEM_ID, role=Role.SYSTEM, agency=agency),
            now=datetime.now(UTC),
            correlation_id=cause.metadata.correlation_id,
            causation_id=cause.event_id,
        )

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
        ctx = self.system_context(agency, cause_event)
        return await self.commands.execute(cause_event.case_id, command, ctx)

    async def record_agreement(self, cause_event: RecordedEvent, agency: str) -> int:
        """One CommitmentRecorded per agreement item; ids derived from the agreement's event."""
        agreement = cause_event.decode()
        assert isinstance(agreement, AgreementReached)
        ctx = self.system_context(agency, cause_event)
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
        consent = person is not None and await self.consent_in_force(
            case_id, person, OUTCOME_RESEARCH
        )
        command = c.with_research_consent(answer, consent)
        return await self.commands.execute(case_id, command, ctx, idempotency_key=idempotency_key)

    # --- the progress-update outbox -------------------------------------------------------------

    async def process_updates(self) -> tuple[int, int]:
        """Decide pending share requests, then deliver what is due: (shared, delivered)."""
        return await self.share_pending(), await self.deliver_pending()

    async def share_pending(self, limit: int = 200) -> int:
        async with self.store.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT cause_event_id, case_id, commitment_id, status, correlation_id "
                f"FROM {self.schema}.share_requests WHERE done_at IS NULL "
                f"ORDER BY global_position LIMIT $1",
                limit,
            )
        shared = 0
        for row in rows:
            try:
                shared += await self._share(row)
            except MendError as exc:  # a refusal is final: retrying would refuse again
                log.warning(
                    "aftercare.share_refused",
                    case_id=row["case_id"],
                    cause_event_id=str(row["cause_event_id"]),
                    error=describe_error(exc),
                )
            except Exception as exc:  # left pending: the next pass tries again
                log.warning("aftercare.share_failed", error=describe_error(exc))
                continue
            async with self.store.pool.acquire() as conn:
                await conn.execute(
                    f"UPDATE {self.schema}.share_requests SET done_at = now() "
                    f"WHERE cause_event_id = $1",
                    row["cause_event_id"],
                )
        return shared

    async def _share(self, row: Any) -> int:
        case_id = row["case_id"]
        state, _ = await self.commands.load(case_id)
        person = state.harmed_person_id
        consent = person is not None and await self.consent_in_force(
            case_id, person, PROGRESS_UPDATES
        )
        ctx = CommandContext(
            actor=Actor(
                id=SYSTEM_ID,
                role=Role.SYSTEM,
                agency=await self.case_agency(case_id) or UNKNOWN_AGENCY,
            ),
            now=datetime.now(UTC),
            correlation_id=row["correlation_id"],
            causation_id=row["cause_event_id"],
        )
        command = c.ShareProgressUpdate(
            commitment_id=row["commitment_id"],
            status=CommitmentStatus(row["status"]),
            updates_consented_at_now=consent,
        )
        result = await self.commands.execute(case_id, command, ctx)
        return len(result.events)

    async def deliver_pending(self) -> int:
        delivered = 0
        while True:
            outcome = await self._deliver_one()
            if outcome is None:
                return delivered
            if isinstance(outcome, Delivery):
                delivered += 1
                try:
                    await self.on_delivered(outcome)
                except Exception as exc:  # the release stands; the channel logs its own fault
                    log.warning("aftercare.channel_failed", error=describe_error(exc))

    async def _deliver_one(self) -> Delivery | str | None:
        """Decide one due delivery in one transaction: the Delivery if sent, the reason if
        withheld, None if nothing is due."""
        now = datetime.now(UTC)
        async with self.store.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT delivery_id, case_id, harmed_person_id, commitment_id, status, "
                f"commitment_revision FROM {self.schema}.deliveries "
                f"WHERE state = 'pending' AND shared_at <= $1 "
                f"ORDER BY shared_at, delivery_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                now - self.delivery_hold,
            )
            if row is None:
                return None
            reason = await self._withheld_because(conn, row)
            await conn.execute(
                f"UPDATE {self.schema}.deliveries SET state = $2, withheld_because = $3, "
                f"decided_at = clock_timestamp() WHERE delivery_id = $1",
                row["delivery_id"],
                "withheld" if reason else "sent",
                reason,
            )
        if reason:
            return reason
        return Delivery(
            row["delivery_id"],
            row["case_id"],
            row["harmed_person_id"],
            row["commitment_id"],
            row["status"],
            row["commitment_revision"],
        )

    async def _withheld_because(self, conn: Any, row: Any) -> str | None:
        case_id, person = row["case_id"], row["harmed_person_id"]
        # First, and under the lock: consent to receive updates, as aftercare knows it now.
        if not await self.consent.in_force(conn, case_id, person, PROGRESS_UPDATES, lock=True):
            return Withheld.NO_CONSENT
        state, _ = await self.commands.load(case_id)
        if state.harmed_person_id != person:
            return Withheld.RECIPIENT
        if state.closed:
            return Withheld.CLOSED
        if CommitmentStatus(row["status"]) not in LEVEL_SHARES[state.update_level]:
            return Withheld.PREFERENCE
        return None

    async def delivered_updates(self, case_id: str, harmed_person_id: str) -> list[dict]:
        """What reached the harmed person: sent deliveries only, codes and times."""
        state, _ = await self.commands.load(case_id)
        async with self.store.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT delivery_id, commitment_id, status, decided_at "
                f"FROM {self.schema}.deliveries WHERE case_id = $1 AND harmed_person_id = $2 "
                f"AND state = 'sent' ORDER BY decided_at, delivery_id",
                case_id,
                harmed_person_id,
            )
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
            rows = await conn.fetch(
                f"SELECT delivery_id, commitment_id, status, commitment_revision, shared_at, "
                f"state, withheld_because, decided_at FROM {self.schema}.deliveries "
                f"WHERE case_id = $1 ORDER BY shared_at, delivery_id",
                case_id,
            )
        return [
            {
                **dict(r),
                "delivery_id": str(r["delivery_id"]),
                "commitment_id": str(r["commitment_id"]),
            }
            for r in rows
        ]

    # --- reads ------------------------------------------------------------------------------------

    async def view(self, case_id: str, identity: Identity, state: AftercareState) -> dict:
        """The case's aftercare as this caller may see it (access.py decided they may)."""
        if identity.role is Role.AUDITOR:
            return {
                **staff_view(state),
                "update_level": str(state.update_level),
                "shared_revisions": {
                    str(k): x.shared_revision for k, x in state.commitments.items()
                },
                "outcomes": _outcomes(state, scores=True),
                "deliveries": await self.deliveries(case_id),
            }
        if identity.role is Role.PRACTITIONER:
            return staff_view(state)
        if identity.role is Role.HARMED_PERSON:
            return harmed_person_view(state, identity.person_id)
        return responsible_person_view(state, identity.person_id)

    async def commissioners_report(self, agency: str) -> dict[str, Any]:
        async with self.store.pool.acquire() as conn:
            cases = await conn.fetch(
                f"SELECT stream_id FROM {self.schema}.events WHERE stream_version = 1 "
                f"AND metadata->>'agency' = $1",
                agency,
            )
        states = [(await self.commands.load(r["stream_id"]))[0] for r in cases]
        return commissioners_report(states)


# --- views: each role sees what is theirs to see -----------------------------------------------


def _check_ins(state: AftercareState, person: str | None = None) -> list[dict]:
    return [
        {
            "check_in_id": str(k),
            "participant_id": x.participant_id,
            "participant_role": str(x.role),
            "due_at": x.due_at,
            "outcome": str(x.outcome) if x.outcome else None,
        }
        for k, x in state.check_ins.items()
        if person in (None, x.participant_id)
    ]


def _referrals(state: AftercareState, person: str | None = None) -> list[dict]:
    return [
        {
            "referral_id": str(k),
            "participant_id": x.participant_id,
            "participant_role": str(x.role),
            "kind": str(x.kind),
            "owner_id": x.owner_id,
            "due_on": x.due_on,
        }
        for k, x in state.referrals.items()
        if person in (None, x.participant_id)
    ]


def _commitments(state: AftercareState, owner: str | None = None) -> list[dict]:
    return [
        {
            "commitment_id": str(k),
            "owner_id": x.owner_id,
            "code": str(x.code),
            "due_on": x.due_on,
            "status": str(x.status) if x.status else None,
            "progress": str(x.progress) if x.progress else None,
        }
        for k, x in state.commitments.items()
        if owner in (None, x.owner_id)
    ]


def _offers(state: AftercareState) -> list[dict]:
    """Each offer with the event that began its cause chain (`chain`; the cause itself when it
    began it), so the chain's other links can be traced to the one offer they share."""
    chain_of = {cause: root for root, cause in state.offer_chains.items()}
    return [
        {"cause_event_id": str(k), "cause": str(v), "chain": str(chain_of.get(k, k))}
        for k, v in state.offers.items()
    ]


def _outcomes(state: AftercareState, *, scores: bool) -> list[dict]:
    return [
        {"measure": str(m), "point": str(p), **({"score": s} if scores else {})}
        for (m, p), s in state.outcomes.items()
    ]


def staff_view(state: AftercareState) -> dict:
    """For the allocated practitioner. Not the harmed person's update preference, nor what was
    shared with them: the sender must not learn their choices or consent from it."""
    return {
        "case_id": state.case_id,
        "harmed_person_id": state.harmed_person_id,
        "status": str(state.status),
        "closure_reason": str(state.closure_reason) if state.closure_reason else None,
        "offers": _offers(state),
        "desistance_plans": sorted(state.desistance_plans),
        "check_ins": _check_ins(state),
        "referrals": _referrals(state),
        "commitments": _commitments(state),
        # Which answers exist, not the answers: they are research data.
        "outcomes": _outcomes(state, scores=False),
    }


def harmed_person_view(state: AftercareState, person: str) -> dict:
    """Their after-care, their plan, their choices and answers; commitments reach them only as
    delivered progress updates (`delivered_updates`)."""
    return {
        "case_id": state.case_id,
        "status": str(state.status),
        "closure_reason": str(state.closure_reason) if state.closure_reason else None,
        "offers": [str(cause) for cause in state.offers.values()],
        "update_level": str(state.update_level),
        "check_ins": _check_ins(state, person),
        "referrals": _referrals(state, person),
        "outcomes": _outcomes(state, scores=True),
    }


def responsible_person_view(state: AftercareState, person: str) -> dict:
    """Their own plan and commitments; nothing of the harmed person's after-care."""
    return {
        "case_id": state.case_id,
        "desistance_plan": person in state.desistance_plans,
        "check_ins": _check_ins(state, person),
        "referrals": _referrals(state, person),
        "commitments": _commitments(state, person),
    }
