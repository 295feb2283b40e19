"""The risk service's application layer: commands through the domain, reads from the
projection (and, for the check that both agree, from a replay of the stream). HTTP-free, so
tests and reactions use it directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from mend_events import rules
from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.idempotency import RequestKey, command_digest
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.catalog.hub import RulePackAdopted
from mend_events.contracts.catalog.risk import AssessmentStage, ReassessmentTrigger
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.vocabulary import ContactForm
from mend_events.errors import NotFound, Rejected, Unavailable
from mend_events.security.cases import CaseDirectory, KnowsCases
from mend_events.security.crypto import FieldSealer
from mend_events.security.practitioners import PractitionerDirectory
from mend_events.security.trust.tables import hold_rule_packs, rule_pack_in_force
from mend_events.store import EventStore

from mend_risk.commands import (
    CompleteRiskAssessment,
    MarkReassessmentDue,
    RevalidateUnderRulePack,
    UnderRulePack,
)
from mend_risk.domain import RiskPolicy, RiskState, make_decider
from mend_risk.domain.answers import involvement, permits_answer, permits_in
from mend_risk.domain.forms import possible_involvement
from mend_risk.domain.indicator import indicator
from mend_risk.domain.state import Assessment, find_assessment
from mend_risk.read_models import RiskPositions
from mend_risk.read_views import assessment_view, latest_from_row

SERVICE = "risk"
# How long a sign-off waits for a registration this service has not consumed yet (sessions
# publishes it; the subscription lags by milliseconds) before it is refused.
SIGNER_WAIT_S = 2.0
T = TypeVar("T")


class RiskService(KnowsCases):
    def __init__(
        self,
        store: EventStore,
        sealer: FieldSealer | None,
        positions: RiskPositions,
        *,
        policy: RiskPolicy | None = None,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.decider = make_decider(policy)
        self.commands: CommandService[RiskState] = CommandService(store, self.decider)
        self.positions = positions
        self._settle = settle
        self.directory = CaseDirectory(store.schema)
        self.registry = PractitionerDirectory(store.schema)
        self.signer_wait_s = SIGNER_WAIT_S

    # --- commands -----------------------------------------------------------------------------

    async def execute(
        self, case_id: str, command: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[RiskState]:
        """A command from the API. A decision is signed off only by a practitioner registered,
        and qualified, in the case's own agency (learnt from sessions' registry events)."""
        if isinstance(command, CompleteRiskAssessment):
            if key is not None and not isinstance(key, RequestKey):
                # Bound to the request as made, never to the pack in force when it ran: a
                # retry after an adoption is still the same request.
                key = RequestKey(key, command_digest(command))
            if command.signed_off_by is not None:
                await self.require_signer(case_id, command.signed_off_by)
            agency = await self.case_agency(case_id) or ctx.actor.agency
            async with self.store.pool.acquire() as conn, conn.transaction():
                # Shared with other decisions, waiting out an adoption being recorded.
                await hold_rule_packs(conn, self.store.schema, agency, exclusive=False)
                pack = await rule_pack_in_force(conn, self.store.schema, agency, ctx.now)
                command = UnderRulePack(
                    command,
                    pack.ref,
                    pack.risk.default_validity_days,
                    pack.risk.max_validity_days,
                    pack.decisions,
                    pack.factors,
                )
                return await self.commands.execute(case_id, command, ctx, idempotency_key=key)
        return await self.commands.execute(case_id, command, ctx, idempotency_key=key)

    async def require_signer(self, case_id: str, practitioner_id: str) -> None:
        agency = await self.case_agency(case_id)
        record = None
        deadline = asyncio.get_running_loop().time() + self.signer_wait_s
        while agency is not None:
            async with self.store.pool.acquire() as conn:
                record = await self.registry.get(conn, agency, practitioner_id)
            if record is not None or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.05)
        if record is None:
            raise Rejected(
                "the sign-off names nobody in the practitioner registry of the case's agency",
                field="signed_off_by",
            )
        gaps = record.sign_off_gaps()
        if gaps:
            raise Rejected(f"may not sign a decision off: {'; '.join(gaps)}", field="signed_off_by")

    # --- reactions ----------------------------------------------------------------------------

    async def mark_due(
        self, case_id: str, trigger: ReassessmentTrigger, cause: RecordedEvent
    ) -> CommandResult[RiskState]:
        """Record that `cause` (another service's event) makes a reassessment due. Runs as the
        service itself; the cause's id is the causation id, so a redelivery writes nothing."""
        agency = await self.case_agency(case_id) or cause.metadata.agency
        ctx = system_context(SERVICE, agency, cause, now=datetime.now(UTC))
        command = MarkReassessmentDue(trigger=trigger, trigger_event_id=cause.event_id)
        return await self.commands.execute(case_id, command, ctx)

    async def adopt_rule_pack(self, adopted: RecordedEvent) -> int:
        """The agency's standing decisions judged by the pack it adopted, from the adoption on
        (as the service itself, the adoption as causation: a redelivery writes nothing).
        Returns how many decisions the pack shortened."""
        model = adopted.decode()
        assert isinstance(model, RulePackAdopted)
        pack = rules.load(model.pack_id, model.version)
        at = adopted.metadata.occurred_at
        # Under the adoption's lock (held by the inbox transaction): every decision appended
        # before it is in the projection the cases are read from.
        if self._settle is not None:
            await self._settle()
        async with self.store.pool.acquire() as conn:
            cases = await self.positions.cases_decided_until_after(conn, model.agency_id, at)
        command = RevalidateUnderRulePack(pack.ref, pack.risk.max_validity_days)
        shortened = 0
        for case_id in cases:
            ctx = system_context(SERVICE, model.agency_id, adopted, now=at)
            shortened += bool((await self.commands.execute(case_id, command, ctx)).events)
        return shortened

    # --- reads from the projection ------------------------------------------------------------

    async def _read(self, case_id: str, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `query` on one consistent snapshot of the projection, once it has applied every
        event of this case: a lagging read model must never answer a safety question."""
        for attempt in range(2):
            async with self.store.pool.acquire() as conn:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    head = await self.positions.stream_head(conn, case_id)
                    if head is None or head <= await self.positions.position(conn):
                        return await query(conn)
            if attempt == 0 and self._settle is not None:
                await self._settle()
        raise Unavailable("the risk record of this case is being brought up to date; try again")

    async def permits(
        self,
        case_id: str,
        form: ContactForm,
        at: datetime | None = None,
        *,
        with_responsible_person: bool | None = None,
    ) -> dict[str, Any]:
        """Whether risk permits `form` for this case at `at` (now when None), from the
        projection. Same answer as `permits_by_replay`."""
        at = at or datetime.now(UTC)
        involved = involvement(form, with_responsible_person)

        async def query(conn: asyncpg.Connection) -> dict[str, Any]:
            row = await self.positions.latest_completed(conn, case_id, at)
            latest = latest_from_row(row) if row else None
            flags = await self.positions.standing(conn, "flags", case_id, at)
            severe = [f["flag_id"] for f in flags if f["severity"] == "severe"]
            permitted = (
                latest is not None
                and latest.stage == AssessmentStage.FULL
                and at < latest.valid_until
                and possible_involvement(form, involved)
                and (str(form), involved) in latest.forms
            )
            return permits_answer(case_id, form, involved, at, latest, permitted, severe)

        return await self._read(case_id, query)

    async def summary(self, case_id: str, at: datetime | None = None) -> dict[str, Any]:
        """The case's risk position at `at` (now when None): the latest completed assessment's
        decision and permitted forms, the open assessment, standing flags, due reassessments."""
        at = at or datetime.now(UTC)

        async def query(conn: asyncpg.Connection) -> dict[str, Any]:
            p = self.positions
            row = await p.latest_completed(conn, case_id, at)
            open_ = next(iter(await p.standing(conn, "open_assessment", case_id, at)), None)
            flags = await p.standing(conn, "flags", case_id, at)
            due = await p.standing(conn, "reassessments", case_id, at)
            return {
                "case_id": case_id,
                "at": at,
                "assessment": assessment_view(row, at) if row else None,
                "open_assessment": dict(open_) if open_ else None,
                "flags": [dict(f) for f in flags],
                "reassessment_due": bool(due),
                "reassessment_triggers": [dict(d) for d in due],
            }

        return await self._read(case_id, query)

    async def safety_plans(self, case_id: str, agreed_with: str | None) -> list[dict[str, Any]]:
        async def query(conn: asyncpg.Connection) -> list[dict[str, Any]]:
            return [dict(r) for r in await self.positions.safety_plans(conn, case_id, agreed_with)]

        return await self._read(case_id, query)

    async def _indicator_pack(self, case_id: str, found: Assessment) -> rules.RulePack:
        """The pack a completed assessment was decided under (the default for one decided
        before rule packs); for an open one, the pack in force for the case's agency now."""
        if found.completion is not None:
            return rules.parse_ref(found.completion.rule_pack or rules.DEFAULT_REF)
        agency = await self.case_agency(case_id) or ""
        async with self.store.pool.acquire() as conn:
            return await rule_pack_in_force(conn, self.store.schema, agency, datetime.now(UTC))

    # --- reads from the stream ----------------------------------------------------------------

    async def replay(self, case_id: str) -> RiskState:
        """A fresh fold of the whole stream (no cache): the truth the projection must match."""
        events = await self.store.read_stream(case_id)
        return self.decider.fold(case_id, ((e.decode(), e.metadata) for e in events))

    async def permits_by_replay(
        self,
        case_id: str,
        form: ContactForm,
        at: datetime,
        *,
        with_responsible_person: bool | None = None,
    ) -> dict[str, Any]:
        """The "permits" answer from a fresh fold of the stream, through the pure domain."""
        state = await self.replay(case_id)
        return permits_in(state, form, at, with_responsible_person=with_responsible_person)

    async def assessment(self, case_id: str, assessment_id: UUID) -> dict[str, Any]:
        """One assessment as recorded: stage, factors, decision, safety plans (staff only)."""
        state, _ = await self.commands.load(case_id)
        found = find_assessment(state, assessment_id)
        if found is None:
            raise NotFound("no such assessment in this case", field="assessment_id")
        pack = await self._indicator_pack(case_id, found)
        return {
            "case_id": case_id,
            "assessment_id": str(found.assessment_id),
            "stage": str(found.stage),
            "started_at": found.started_at,
            "factors": [f.model_dump(mode="json") for f in found.factors],
            "completed_at": found.completed_at,
            "completion": found.completion.model_dump(mode="json") if found.completion else None,
            # Beside the decision, never deciding: the weights of the pack it was made under.
            "indicator": indicator(found.factors, pack),
            "safety_plans": [
                p.model_dump(mode="json")
                for p in state.safety_plans
                if p.assessment_id == found.assessment_id
            ],
        }
