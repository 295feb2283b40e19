"""The consent service's application layer: commands through the domain, reads from the
projection and the stream. HTTP-free, so tests and reactions use it directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.idempotency import RequestKey, command_digest
from mend_events.commands.service import CommandResult, CommandService
from mend_events.security.cases import CaseDirectory, KnowsCases
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.security.trust.tables import hold_rule_packs, rule_pack_in_force
from mend_events.store import EventStore

from mend_consent.commands import GiveConsent, LapseDueGrants, UnderConsentRules
from mend_consent.domain import ConsentState, covers, decider
from mend_consent.read_models import CurrentGrants

SERVICE = "consent"
ERASED = "[erased]"


class ConsentService(KnowsCases):
    def __init__(
        self,
        store: EventStore,
        sealer: FieldSealer | None,
        grants: CurrentGrants,
        settle: Callable[[], Awaitable[None]],
        directory: CaseDirectory,
    ) -> None:
        self.settle = settle
        self.directory = directory
        self.store = store
        self.sealer = sealer
        self.commands: CommandService[ConsentState] = CommandService(store, decider)
        self.grants = grants

    async def execute(
        self, case_id: str, command: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[ConsentState]:
        """A command from the API. Consent is recorded under the rule pack in force for the
        case's agency: a grant given without an expiry takes the pack's default."""
        if not isinstance(command, GiveConsent):
            return await self.commands.execute(case_id, command, ctx, idempotency_key=key)
        if key is not None and not isinstance(key, RequestKey):
            # The key stays bound to the request as made, never to the default derived from
            # the pack in force: a retry after an adoption is still the same request.
            key = RequestKey(key, command_digest(command))
        agency = await self.case_agency(case_id) or ctx.actor.agency
        async with self.store.pool.acquire() as conn, conn.transaction():
            # Shared with other decisions, waiting out an adoption being recorded.
            await hold_rule_packs(conn, self.store.schema, agency, exclusive=False)
            pack = await rule_pack_in_force(conn, self.store.schema, agency, ctx.now)
            under = UnderConsentRules(command, pack.ref, pack.consent.default_expiry_days)
            return await self.commands.execute(case_id, under, ctx, idempotency_key=key)

    async def grant_owner(self, case_id: str, grant_id: UUID) -> str | None:
        # A grant's giver never changes: a cached state that knows the grant is enough.
        state = self.commands.cached(case_id)
        if state is None or grant_id not in state.grants:
            state, _ = await self.commands.load(case_id)
        grant = state.grants.get(grant_id)
        return grant.participant_id if grant else None

    @staticmethod
    def covers(state: ConsentState, participant_id: str, scope: str) -> bool:
        return covers(state, participant_id, scope, datetime.now(UTC))

    async def current_grants(self, case_id: str, participant_id: str | None) -> list[dict]:
        # Read your writes: the projection first takes in whatever was appended before this
        # read (usually nothing, or the caller's own last command).
        await self.settle()
        async with self.store.pool.acquire() as conn:
            rows = await self.grants.rows(conn, case_id, participant_id)
        return [dict(r) for r in rows]

    async def history(
        self, case_id: str, viewer: Identity, *, only_person: str | None, as_of: datetime | None
    ) -> list[dict[str, Any]]:
        """Who, when, what and why. A personal field (a withdrawal's reason) is opened only
        for the person it belongs to; anyone else sees that one was given, sealed."""
        out = []
        for e in await self.store.read_stream(case_id, as_of=as_of):
            data = dict(e.data)
            subject = data.get("participant_id") or data.get("responsible_person_id")
            if only_person is not None and subject != only_person:
                continue
            model = e.decode()
            if model.personal_fields and self.sealer is not None and subject == viewer.person_id:
                data = await self.sealer.open_recorded(e, model.personal_owner)
                for name in model.personal_fields:
                    if data.get(name) is None and e.data.get(name) is not None:
                        data[name] = ERASED  # sealed under a key destroyed by an erasure
            else:
                for name in model.personal_fields:
                    if data.get(name) is not None:
                        data[name] = "[sealed]"
            out.append(
                {
                    "position": e.stream_version,
                    "event_id": str(e.event_id),
                    "type": e.event_type,
                    "occurred_at": e.metadata.occurred_at,
                    "recorded_at": e.recorded_at,
                    "actor": {"id": e.metadata.actor_id, "role": str(e.metadata.role)},
                    "agency": e.metadata.agency,
                    "causation_id": str(e.metadata.causation_id)
                    if e.metadata.causation_id
                    else None,
                    "data": data,
                }
            )
        return out

    async def lapse_due(self, now: datetime) -> int:
        """Record the lapse of every grant past its expiry (so replay sees it); returns how
        many cases changed. Runs as the service itself, never on anyone's behalf."""
        async with self.store.pool.acquire() as conn:
            cases = await self.grants.cases_with_expired(conn, now)
        changed = 0
        for case_id in cases:
            agency = await self.case_agency(case_id) or "unknown"
            ctx = system_context(SERVICE, agency, now=now)
            result = await self.commands.execute(case_id, LapseDueGrants(), ctx)
            changed += bool(result.events)
        return changed
