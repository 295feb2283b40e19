"""The sessions service's application layer: commands through the pure domain, gate facts from
the read models, reactions to consent and risk. HTTP-free, so tests and reactions use it directly.

Decisions about the practitioner registry (choosing a facilitator, a session's team) read the
case agency's registry stream itself (a cached fold: read-your-writes right after a
registration), over that agency's entries of the legacy single stream; the shared
`practitioner_registry` projection serves listings, one agency at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
from mend_events import metrics
from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.idempotency import RequestKey, command_digest
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.catalog.sessions import Participant, ParticipantRole
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Forbidden, NotFound, Unavailable
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.security.practitioners import PractitionerDirectory
from mend_events.security.trust.tables import hold_rule_packs, rule_pack_in_force
from mend_events.store import EventStore

from mend_sessions import commands as c
from mend_sessions import letters, meetings, notes
from mend_sessions.consistency import ConsistencyGuard, lock_case
from mend_sessions.domain import WithGates, WithPractitioner, decider
from mend_sessions.domain.gates import GateView, SessionRequest, gate_report
from mend_sessions.domain.materials import WithText
from mend_sessions.domain.meetings import WithPlans
from mend_sessions.domain.practitioners import (
    LEGACY_REGISTRY_STREAM,
    LegacyRegistry,
    RegistryState,
    legacy_decider,
    registry_decider,
    registry_stream,
)
from mend_sessions.domain.state import CaseState, CaseStatus, Session, SessionStatus
from mend_sessions.read_models import CaseStates, ConsentView, RiskView

SERVICE = "sessions"
# How long a start or schedule waits for a reaction of the same case to finish (they hold the
# case lock for milliseconds); past it the request is refused with 503 rather than queued.
LOCK_TIMEOUT_MS = 2000


def involves_responsible_person(participants: tuple[Participant, ...]) -> bool:
    return any(p.role == ParticipantRole.RESPONSIBLE_PERSON for p in participants)


class SessionsService:
    def __init__(
        self,
        store: EventStore,
        consent: ConsentView,
        risk: RiskView,
        practitioners: PractitionerDirectory,
        cases: CaseStates,
        guard: ConsistencyGuard | None = None,
        sealer: FieldSealer | None = None,
    ) -> None:
        self.store = store
        self.pool: asyncpg.Pool = store.pool
        self.consent = consent
        self.risk = risk
        self.practitioners = practitioners
        self.cases = cases
        self.guard = guard
        self.sealer = sealer  # opens letters' and notes' text (the store seals it on append)
        self.attachments = notes.Attachments(store.schema)
        # The one clock of the application layer (gates are decided at `clock()`); tests move it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.lock_timeout_ms = LOCK_TIMEOUT_MS
        self.commands: CommandService[CaseState] = CommandService(store, decider)
        self.registry: CommandService[RegistryState] = CommandService(store, registry_decider)
        self.legacy_registry: CommandService[LegacyRegistry] = CommandService(store, legacy_decider)

    # --- reads ----------------------------------------------------------------------------

    async def case(self, case_id: str, conn: asyncpg.Connection | None = None) -> CaseState:
        return (await self.commands.load(case_id, conn=conn))[0]

    async def case_agency(self, case_id: str) -> str | None:
        """The agency of the case's opening; before it, of its first invitation (the agency
        that referred the harmed person)."""
        state = await self.case(case_id)
        if state.opened is not None:
            return state.opened.agency
        return state.invited_in

    async def case_document(self, case_id: str) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            return await self.cases.get(conn, case_id)

    async def practitioner_list(self, agency: str) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            return await self.practitioners.rows(conn, agency)

    async def registry_state(
        self, agency: str | None, conn: asyncpg.Connection | None = None
    ) -> RegistryState:
        """`agency`'s registry now: its own stream over its entries of the legacy stream. No
        agency (a case not opened): an empty registry, so nobody counts as registered.
        `conn`: a connection the caller holds (the gated path), so no second one is awaited."""
        if agency is None:
            return RegistryState()
        legacy = (await self.legacy_registry.load(LEGACY_REGISTRY_STREAM, conn=conn))[0]
        own = (await self.registry.load(registry_stream(agency), conn=conn))[0]
        # Over them, the hub's qualification records that are newer than any registration.
        if conn is None:
            async with self.pool.acquire() as held:
                recorded = await self.practitioners.hub_records(held, agency)
        else:
            recorded = await self.practitioners.hub_records(conn, agency)
        return own.merged(legacy.get(agency)).overlaid(recorded)

    async def letters(self, state: CaseState, identity: Identity) -> list[dict[str, Any]]:
        history = await self.store.read_stream(state.case_id)
        return letters.letter_rows(state, identity, history)

    async def letter(self, state: CaseState, letter_id: str, identity: Identity) -> dict[str, Any]:
        if self.sealer is None:
            raise Unavailable("letters cannot be opened here")
        return await letters.opened(self.store, self.sealer, state, letter_id, identity)

    async def write_note(
        self, case_id: str, command: c.WriteNote, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        """An attachment checked, sealed and stored first (content-addressed: a retry stores
        nothing twice); then the note naming it."""
        found: dict[str, Any] = {}
        if command.attachment is not None:
            raw = notes.checked(command.attachment)
            if self.sealer is None:
                raise Unavailable("attachments cannot be stored here")
            owner, kind = command.about_id or case_id, command.attachment.media_type
            digest = await self.attachments.put(
                self.pool, self.sealer, case_id, owner, ctx.actor.agency, kind, raw
            )
            found = {"digest": digest, "media_type": kind, "size": len(raw)}
        return await self.execute(case_id, c.NoteWithAttachment(note=command, **found), ctx, key)

    async def open_note(
        self, case_id: str, note_id: str, ctx: CommandContext, attachment: bool = False
    ) -> Any:
        """The read recorded (CaseNoteRead), then the note's text, or its attachment (type and
        content; None once erased)."""
        if self.sealer is None:
            raise Unavailable("notes cannot be opened here")
        read = c.RecordNoteRead(note_id=note_id, attachment=attachment)
        state = (await self.execute(case_id, read, ctx)).state
        note = state.notes[note_id]
        if attachment:
            return await self.attachments.open(self.pool, self.sealer, case_id, note)
        return await notes.opened_text(self.store, self.sealer, state, note)

    async def meetings(self, state: CaseState, identity: Identity) -> list[dict[str, Any]]:
        return await meetings.meeting_rows(self.store, self.sealer, state, identity)

    async def safety_plans(self, case_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            return await self.risk.safety_plans(conn, case_id)

    async def open_material(self, case_id: str, item_id: str, ctx: CommandContext) -> str | None:
        """The read recorded (MaterialRead), then the item's text (None once erased)."""
        if self.sealer is None:
            raise Unavailable("materials cannot be opened here")
        read = c.RecordMaterialRead(item_id=item_id)
        state = (await self.execute(case_id, read, ctx)).state
        return await meetings.material_text(self.store, self.sealer, state, item_id)

    # --- commands -------------------------------------------------------------------------

    async def arrange_meeting(
        self, case_id: str, command: c.ArrangeMeeting, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        """With the safety plans risk recorded for the case (never the request's word)."""
        plans = await self.safety_plans(case_id)
        return await self.execute(case_id, WithPlans(command, plans), ctx, key)

    async def offer_material(
        self, case_id: str, command: c.OfferMaterial, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        """The item's text opened under its owner's key, to be sealed again as the letter."""
        if self.sealer is None:
            raise Unavailable("materials cannot be offered here")
        state = await self.case(case_id)
        text = await meetings.material_text(self.store, self.sealer, state, command.item_id)
        return await self.execute(case_id, WithText(command, text), ctx, key)

    async def execute(
        self, case_id: str, command: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[CaseState]:
        return await self.commands.execute(case_id, command, ctx, idempotency_key=key)

    async def register(
        self, command: c.RegisterPractitioner, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[RegistryState]:
        """Into the registering coordinator's own agency's stream, never another's. An id that
        another agency registered first names that agency's practitioner: refused, so one id
        never means two people (the check reads the projection, which a registration wakes)."""
        agency = ctx.actor.agency
        async with self.pool.acquire() as conn:
            owner = await self.practitioners.owner_of(conn, command.practitioner_id)
        if owner is not None and owner != agency:
            raise Forbidden(
                "this practitioner is registered by another agency", field="practitioner_id"
            )
        return await self.registry.execute(
            registry_stream(agency), command, ctx, idempotency_key=key
        )

    async def choose_facilitator(
        self, case_id: str, command: c.ChooseFacilitator, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        # Only a practitioner registered in the case's own agency may be chosen.
        registry = await self.registry_state(await self.case_agency(case_id))
        record = registry.practitioners.get(command.practitioner_id)
        return await self.execute(case_id, WithPractitioner(command, record), ctx, key)

    async def schedule(
        self, case_id: str, command: c.ScheduleSession, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        return await self._gated(case_id, command, ctx, key)

    async def start(
        self, case_id: str, command: c.StartSession, ctx: CommandContext, key: str | None
    ) -> CommandResult[CaseState]:
        return await self._gated(case_id, command, ctx, key)

    async def _gated(
        self,
        case_id: str,
        command: c.ScheduleSession | c.StartSession,
        ctx: CommandContext,
        key: str | None,
    ) -> CommandResult[CaseState]:
        """R4 through the gates, on a view that is fresh (ConsistencyGuard) and that no reaction
        of this case changes while the decision is made (the case lock). Every read is made on
        the connection that holds the lock: a request never holds one pooled connection while
        waiting for another (a burst of starts once took every connection so, for good). The
        append goes through the store's writer, on the store's own connections."""
        if key is not None and not isinstance(key, RequestKey):
            # Bound to the request as made, never to the gate facts (the pack in force among
            # them) it was decided on: a retry after they changed is still the same request.
            key = RequestKey(key, command_digest(command))
        if self.guard is not None:
            await self.guard.ensure(case_id)
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await lock_case(conn, self.store.schema, case_id, timeout_ms=self.lock_timeout_ms)
            except asyncpg.LockNotAvailableError:
                raise Unavailable(
                    "this case is busy applying a consent or risk change; try again shortly"
                ) from None
            ctx = replace(ctx, now=self.clock())  # decide on the facts as of now
            state = await self.case(case_id, conn)
            if state.opened is not None:
                # Shared with other decisions, waiting out an adoption being recorded: the
                # gates are evaluated under the pack in force once it is.
                await hold_rule_packs(conn, self.store.schema, state.opened.agency, exclusive=False)
            view = await self.gate_view(conn, state, command, ctx.now)
            return await self.commands.execute(
                case_id, WithGates(command, view), ctx, idempotency_key=key, conn=conn
            )

    async def gate_view(
        self,
        conn: asyncpg.Connection,
        state: CaseState,
        command: c.ScheduleSession | c.StartSession,
        now: datetime,
    ) -> GateView:
        """The gate facts at `now` from this service's views of consent, risk and the registry.
        Risk permits a form with or without the responsible person, so the facts depend on
        whether this session includes them."""
        if isinstance(command, c.ScheduleSession):
            participants, facilitator, team = (
                command.participants,
                command.facilitator_id,
                command.team,
            )
        else:
            session = state.sessions.get(command.session_id)
            if session is None:
                return GateView()  # the domain answers "no such session"
            participants, facilitator, team = (
                session.participants,
                session.facilitator_id,
                session.team,
            )
        with_rp = involves_responsible_person(participants)
        permitted = await self.risk.permitted(conn, state.case_id, now)
        agency = state.opened.agency if state.opened else None
        registry = (await self.registry_state(agency, conn)).practitioners
        staff = {state.facilitator_id, facilitator, *team} - {None}
        pack = await rule_pack_in_force(conn, self.store.schema, agency or "", now)
        return GateView(
            consented_forms=await self.consent.covered_forms(conn, state.case_id, now),
            acknowledged=await self.consent.acknowledged(conn, state.case_id),
            risk_permitted_forms=frozenset(f for f, rp in permitted if rp == with_rp),
            reassessments_due=await self.risk.reassessments_due(conn, state.case_id),
            severe_flags=await self.risk.severe_flags(conn, state.case_id),
            safety_plans=frozenset(await self.risk.safety_plans(conn, state.case_id)),
            practitioners={p: registry[p] for p in staff if p in registry},
            rule_pack=pack.ref,
            min_gap_days_floor=pack.sessions.min_gap_days_floor,
            team=pack.team,
        )

    async def gates(self, state: CaseState, session_id: str) -> list[dict[str, Any]] | None:
        """A scheduled session's contact gates as starting it now would check them (R4): each
        gate met or unmet with its reasons. A read: nothing is locked or written, so a start a
        moment later decides again on its own facts. None when no such session is scheduled."""
        session = state.sessions.get(session_id)
        if session is None or session.status != SessionStatus.SCHEDULED:
            return None
        now = self.clock()
        async with self.pool.acquire() as conn:
            view = await self.gate_view(conn, state, c.StartSession(session_id=session_id), now)
        report = gate_report(state, view, SessionRequest.starting_now(session), now)
        return [{"gate": n, "asks": asks, "met": not why, "unmet": why} for n, asks, why in report]

    # --- reactions (called by reactions.py inside the inbox transaction) ------------------

    async def halt(
        self,
        case_id: str,
        command: c.HaltSessionsDependingOnConsent | c.HaltSessionsForRisk,
        cause: RecordedEvent,
        conn: asyncpg.Connection | None = None,
    ) -> CommandResult[CaseState]:
        """Halt what a lost consent or a risk change no longer permits, as the system actor.
        `conn`: the reaction's inbox connection, which the stream's reads use."""
        state = await self.case(case_id, conn)
        agency = state.opened.agency if state.opened else cause.metadata.agency
        result = await self.commands.execute(
            case_id, command, system_context(SERVICE, agency, cause, now=self.clock()), conn=conn
        )
        if result.events and cause.event_type == "ConsentWithdrawn":
            # R2's promise, measured: from the withdrawal's recording to this halt's decision.
            waited = (self.clock() - cause.recorded_at).total_seconds()
            metrics.WITHDRAWAL_TO_HALT_SECONDS.observe(max(0.0, waited))
        return result

    @staticmethod
    def active_sessions(state: CaseState) -> list[Session]:
        return [s for s in state.sessions.values() if s.active]

    async def require_case(self, case_id: str) -> CaseState:
        state = await self.case(case_id)
        if state.status not in (CaseStatus.OPEN, CaseStatus.CLOSED):
            raise NotFound("no open case with this id", field="case_id")
        return state
